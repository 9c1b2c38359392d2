import { CappedList } from './capped';
import type { MouseEventRecord } from './devices';

export const EVENT_LOG_ROWS = 500;

export interface LogFilter {
  device: string; // '' = all
  event: '' | MouseEventRecord['event'];
}

/** The newest mouse events, capped; pausing freezes the list (what comes meanwhile is counted, not kept). */
export class EventLog {
  private readonly rows = new CappedList<MouseEventRecord & { id: number }>(EVENT_LOG_ROWS);
  private nextId = 0;
  paused = false;
  missedWhilePaused = 0;

  add(record: MouseEventRecord): void {
    if (this.paused) {
      this.missedWhilePaused += 1;
      return;
    }
    this.rows.add({ ...record, id: this.nextId++ });
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.missedWhilePaused = 0;
  }

  clear(): void {
    this.rows.clear();
  }

  /** Newest first. */
  filtered(filter: LogFilter): readonly (MouseEventRecord & { id: number })[] {
    const all = this.rows.list();
    if (!filter.device && !filter.event) return all; // already a fresh array
    return all.filter((r) => (!filter.device || r.device === filter.device) && (!filter.event || r.event === filter.event));
  }
}

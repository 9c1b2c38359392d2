import { CappedList } from './capped';
import type { MouseEventRecord } from './devices';
import { FrameSignal } from './frame-signal';

export const EVENT_LOG_ROWS = 500;

export interface LogFilter {
  device: string; // '' = all
  event: '' | MouseEventRecord['event'];
}

/** The newest mouse events, capped; pausing freezes the list (what comes meanwhile is counted, not kept). */
export class EventLog {
  private readonly rows = new CappedList<MouseEventRecord & { id: number }>(EVENT_LOG_ROWS);
  private readonly signal = new FrameSignal();
  private nextId = 0;
  private isPaused = false;
  private missed = 0;

  add(record: MouseEventRecord): void {
    if (this.isPaused) this.missed += 1;
    else this.rows.add({ ...record, id: this.nextId++ });
    this.signal.changed();
  }

  get paused(): boolean {
    this.signal.track();
    return this.isPaused;
  }

  /** Events that came while paused, not kept. */
  get missedWhilePaused(): number {
    this.signal.track();
    return this.missed;
  }

  setPaused(paused: boolean): void {
    this.isPaused = paused;
    if (!paused) this.missed = 0;
    this.signal.changed();
  }

  clear(): void {
    this.rows.clear();
    this.signal.changed();
  }

  /** Newest first. */
  filtered(filter: LogFilter): readonly (MouseEventRecord & { id: number })[] {
    this.signal.track();
    const all = this.rows.list();
    if (!filter.device && !filter.event) return all; // already a fresh array
    return all.filter((r) => (!filter.device || r.device === filter.device) && (!filter.event || r.event === filter.event));
  }
}

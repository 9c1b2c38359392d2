import { CappedList } from '../state/capped';
import { EVENT_LOG_ROWS, folds, type FoldedEntry, type LogEntry, type LogKind } from '../state/event-log';
import { FrameSignal, TEXT_EVERY_MS } from './frame-signal';

export interface LogRow extends FoldedEntry {
  id: number;
}

export interface LogFilter {
  source: string; // '' = all
  kind: '' | LogKind;
}

/**
 * The newest live messages, capped, moves folded into one row per run so they cannot push clicks out;
 * pausing freezes the list (what comes meanwhile is counted, not kept).
 */
export class EventLog {
  private readonly rows = new CappedList<LogRow>(EVENT_LOG_ROWS);
  private readonly signal = new FrameSignal(TEXT_EVERY_MS);
  private nextId = 0;
  private isPaused = false;
  private missed = 0;

  /** Adds one frame's lines from the worker, oldest first. */
  addAll(entries: readonly FoldedEntry[]): void {
    for (const entry of entries) this.add(entry, entry.count);
  }

  add(entry: LogEntry, count = 1): void {
    if (this.isPaused) this.missed += count;
    else {
      const newest = this.rows.newest;
      if (newest && folds(newest, entry)) this.rows.replaceNewest({ ...entry, id: newest.id, count: newest.count + count });
      else this.rows.add({ ...entry, id: this.nextId++, count });
    }
    this.signal.changed();
  }

  get paused(): boolean {
    this.signal.track();
    return this.isPaused;
  }

  /** Messages that came while paused, not kept. */
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
  filtered(filter: LogFilter): readonly LogRow[] {
    this.signal.track();
    const all = this.rows.list();
    if (!filter.source && !filter.kind) return all; // already a fresh array
    return all.filter((r) => (!filter.source || r.source === filter.source) && (!filter.kind || r.kind === filter.kind));
  }
}

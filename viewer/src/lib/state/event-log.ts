import { CappedList } from './capped';
import type { MouseEventRecord } from './devices';
import { FrameSignal } from './frame-signal';
import type { FormattedPayload } from './payload-format';

export const EVENT_LOG_ROWS = 500;
const MAX_TEXT = 160;

export type LogKind = MouseEventRecord['event'] | 'status' | 'meta' | 'message' | 'other';

export interface LogEntry {
  at: number;
  topic: string;
  /** The device or client id of a devices/{id}/… or clients/{id}/… topic, else ''. */
  source: string;
  kind: LogKind;
  text: string;
}

export interface LogRow extends LogEntry {
  id: number;
  /** Consecutive moves of one source share one row: how many it stands for. */
  count: number;
}

export interface LogFilter {
  source: string; // '' = all
  kind: '' | LogKind;
}

function describeMouse(r: MouseEventRecord): string {
  const p = r.payload;
  if (r.event === 'click') return `${p.button} ${p.pressed ? 'pressed' : 'released'} at (${p.x}, ${p.y})`;
  if (r.event === 'scroll') return `scroll dx ${p.dx} dy ${p.dy} at (${p.x}, ${p.y})`;
  return `move to (${p.x}, ${p.y})`;
}

function oneLine(payload: FormattedPayload): string {
  const text = payload.kind === 'json' ? JSON.stringify(payload.value) : payload.text.replace(/\s+/g, ' ');
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

/** What one live message says, as a log line: mouse events described, anything else by topic and payload. */
export function logEntry(topic: string, payload: FormattedPayload, mouse: MouseEventRecord | null, at: number): LogEntry {
  if (mouse) return { at, topic, source: mouse.device, kind: mouse.event, text: describeMouse(mouse) };
  const [root, id = '', ...rest] = topic.split('/');
  const known = (root === 'devices' || root === 'clients') && rest.length > 0;
  const path = rest.join('/');
  const kind: LogKind =
    root === 'clients' && path === 'messages' ? 'message' : root === 'devices' && (path === 'status' || path === 'meta') ? path : 'other';
  let text = oneLine(payload);
  if (kind === 'message' && payload.kind === 'json') text = String((payload.value as { text?: unknown }).text ?? text);
  return { at, topic, source: known ? id : '', kind, text: known ? `${path}: ${text}` : `${topic}: ${text}` };
}

/**
 * The newest live messages, capped, moves folded into one row per run so they cannot push clicks out;
 * pausing freezes the list (what comes meanwhile is counted, not kept).
 */
export class EventLog {
  private readonly rows = new CappedList<LogRow>(EVENT_LOG_ROWS);
  private readonly signal = new FrameSignal();
  private nextId = 0;
  private isPaused = false;
  private missed = 0;

  add(entry: LogEntry): void {
    if (this.isPaused) this.missed += 1;
    else {
      const newest = this.rows.newest;
      if (entry.kind === 'move' && newest?.kind === 'move' && newest.source === entry.source) this.rows.replaceNewest({ ...entry, id: newest.id, count: newest.count + 1 });
      else this.rows.add({ ...entry, id: this.nextId++, count: 1 });
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

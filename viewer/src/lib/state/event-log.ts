import type { MouseEventRecord } from './devices';
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

/** Consecutive moves of one source share one row: `count` says how many it stands for. */
export interface FoldedEntry extends LogEntry {
  count: number;
}

/** Whether `entry` folds into `newest`: both moves of one source. */
export function folds(newest: LogEntry | undefined, entry: LogEntry): boolean {
  return entry.kind === 'move' && newest?.kind === 'move' && newest.source === entry.source;
}

function describeMouse(r: MouseEventRecord): string {
  const { event, payload: p } = r; // destructured together, so `event` narrows `p`
  if (event === 'click') return `${p.button} ${p.pressed ? 'pressed' : 'released'} at (${p.x}, ${p.y})`;
  if (event === 'scroll') return `scroll dx ${p.dx} dy ${p.dy} at (${p.x}, ${p.y})`;
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
 * The log lines of one frame (in the worker), moves folded as the page's log folds them, at most
 * EVENT_LOG_ROWS of them: the page keeps no more than that anyway.
 */
export class LogBatch {
  private entries: FoldedEntry[] = [];

  add(entry: LogEntry): void {
    const newest = this.entries.at(-1);
    if (newest && folds(newest, entry)) this.entries[this.entries.length - 1] = { ...entry, count: newest.count + 1 };
    else this.entries.push({ ...entry, count: 1 });
    if (this.entries.length > 2 * EVENT_LOG_ROWS) this.entries = this.entries.slice(-EVENT_LOG_ROWS);
  }

  get size(): number {
    return this.entries.length;
  }

  /** Oldest first. */
  take(): FoldedEntry[] {
    const out = this.entries.length > EVENT_LOG_ROWS ? this.entries.slice(-EVENT_LOG_ROWS) : this.entries;
    this.entries = [];
    return out;
  }
}

/**
 * What a publisher prints: one plain line for people (the default, on a terminal and on a pipe alike, as `make up`
 * and users read it), or with `--log-format json` the same as one JSON object a line, named by its `event` field,
 * for scripts and tests. The broker's JSON lines have the same shape: level, time, the event's fields, msg.
 */
import { escapeUnprintable } from '../protocol/printable';

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * What happened, for programs: `event` names it (`connected`, `source`, `click`, `summary`, `client_message`,
 * `connection_problem`, `stopping`, ...), the other fields say the rest.
 */
export interface PublisherEvent {
  event: string;
  [field: string]: unknown;
}

/** Says one thing: `line` for people, `event` for programs (a line without one is a `note`). */
export type Say = (line: string, event?: PublisherEvent) => void;

/** Events that report something wrong: level 40 (warn) in JSON, as pino has it; everything else is 30 (info). */
const WARNINGS = new Set(['connection_problem', 'capture_stopped', 'queue_full', 'publish_failed']);

/** One JSON line; characters that do not show as themselves as \u escapes, so text from the wire cannot disguise a line. */
export function jsonLine(line: string, event: PublisherEvent = { event: 'note' }, now = Date.now()): string {
  const level = WARNINGS.has(event.event) ? 40 : 30;
  return escapeUnprintable(JSON.stringify({ ...event, level, time: now, msg: line }));
}

/** A Say for `format` that writes each line to `write` (stdout). `auto` and `pretty` both print the plain lines. */
export function createSay(format: LogFormat, write: (text: string) => void = (text) => void process.stdout.write(text)): Say {
  if (format === 'json') return (line, event) => write(`${jsonLine(line, event)}\n`);
  return (line) => write(`${line}\n`);
}

import pino, { type Logger } from 'pino';

/** A real pino logger whose JSON lines a test can read back. */
export function capturingLogger(): {
  log: Logger;
  lines: () => Record<string, unknown>[];
  messages: () => string[];
  /** The lines whose `event` field is `name` (`publish_dropped`, `client_connected`, ...): what tests assert on. */
  events: (name: string) => Record<string, unknown>[];
} {
  const raw: string[] = [];
  const log = pino({ level: 'debug', base: undefined }, { write: (line: string) => void raw.push(line) });
  const lines = () => raw.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, messages: () => lines().map((l) => String(l.msg)), events: (name) => lines().filter((l) => l.event === name) };
}

import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import { escapeUnprintable, printable } from '../protocol/printable';

export { printable };

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type { Logger };

/** Readable lines on a terminal, JSON lines otherwise (or when asked), both on stdout. */
export function createLogger(format: LogFormat = 'auto', level = process.env.MQLIVE_LOG_LEVEL ?? 'info'): Logger {
  const usePretty = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  if (!usePretty) return pino({ level, base: undefined, hooks: { streamWrite: escapeUnprintable } });
  // Loaded only for a terminal (about 9 MiB): a broker logging JSON never needs it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(
    { level, base: undefined },
    // The message says what happened; the fields are for JSON consumers.
    pretty({ colorize: process.stdout.isTTY === true, translateTime: 'HH:MM:ss', hideObject: true, sync: true }),
  );
}

/** A string from the wire in quotes, escaped as JSON and then as printable: `"a\nb"`. */
export function quoted(text: string): string {
  return printable(JSON.stringify(text));
}

/**
 * Lets at most `perWindow` lines through every `windowMs`, then one line saying how many were held back,
 * so a client sending a flood of bad messages cannot flood the log.
 */
export class LogLimiter {
  private windowStart = 0;
  private used = 0;
  private suppressed = 0;

  constructor(
    private readonly log: Logger,
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  warn(fields: object, message: string): void {
    this.write('warn', fields, message);
  }

  info(fields: object, message: string): void {
    this.write('info', fields, message);
  }

  error(fields: object, message: string): void {
    this.write('error', fields, message);
  }

  private write(level: 'info' | 'warn' | 'error', fields: object, message: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) {
        this.log[level]({ suppressed: this.suppressed }, `${this.suppressed} similar messages were not logged`);
      }
      this.windowStart = t;
      this.used = 0;
      this.suppressed = 0;
    }
    if (this.used < this.perWindow) {
      this.used += 1;
      this.log[level](fields, message);
    } else {
      this.suppressed += 1;
    }
  }
}

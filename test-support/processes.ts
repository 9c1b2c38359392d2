import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { ReadyEvent } from '../broker/cli';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /**
   * Waits (bounded) until stdout+stderr match `pattern` after the cursor; returns the match. The waits of one
   * process share a cursor: each searches only the output after the end of the previous wait's match, so a line
   * printed again is found as the new copy, never as the old one.
   */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * Waits (bounded), after the cursor, for a JSON log line (`--log-format json`) whose `event` is `name` and whose
   * fields equal those in `where`; returns it parsed.
   */
  waitForEvent(name: string, options?: { where?: Record<string, unknown>; timeoutMs?: number }): Promise<Record<string, unknown>>;
  /** Every JSON log line printed so far whose `event` is `name`, parsed, oldest first. */
  events(name: string): Record<string, unknown>[];
  /** Resolves with the exit code (or signal name) once the process has ended. */
  exited: Promise<number | string>;
  /** Whether the process has ended. */
  hasEnded(): boolean;
  /** Sends `signal` to this process only (by its PID) and waits, bounded, for it to end. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
}

/** Runs a TypeScript entry point of this repo in its own Node process (tsx as the loader). */
export function spawnTs(entry: string, args: string[] = [], env: Record<string, string | undefined> = {}): Spawned {
  return spawnProcess(process.execPath, ['--import', 'tsx', entry, ...args], env);
}

/** A broker started with `--log-format json` is ready: its addresses, from its JSON ready event. */
export async function brokerReady(broker: Spawned, timeoutMs?: number): Promise<ReadyEvent> {
  return (await broker.waitForEvent('ready', { timeoutMs })) as unknown as ReadyEvent;
}

/**
 * Runs the compiled `mqlive ARGS...` (dist/mqlive.js, built by the tests' global setup) in its own Node process,
 * as users run it: `spawnMqlive(['broker', '--mqtt-port', '0'])`.
 */
export function spawnMqlive(args: string[], env: Record<string, string | undefined> = {}): Spawned {
  return spawnProcess(process.execPath, ['dist/mqlive.js', ...args], env);
}

export function spawnProcess(
  command: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  options: { detached?: boolean; cwd?: string; /** 'pipe' to write to it (child.stdin); default: none */ stdin?: 'ignore' | 'pipe' } = {},
): Spawned {
  const { stdin = 'ignore', ...spawnOptions } = options;
  const child = spawn(command, args, { cwd: ROOT, ...spawnOptions, env: { ...process.env, ...env }, stdio: [stdin, 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  let ended = false;
  void exited.then(() => {
    ended = true;
    for (const l of listeners) l();
  });

  /** Where the next wait starts searching: the end of the last match. */
  let cursor = 0;
  /**
   * Waits until `find` finds something in the output from `from` on: `find` returns it and where it ends, which
   * moves the cursor there (never back: waits may run side by side).
   */
  const waitFor = <T>(find: (from: number) => { found: T; end: number } | null, what: string, timeoutMs = 15_000) =>
    new Promise<T>((resolve, reject) => {
      const from = cursor;
      const check = () => {
        const hit = find(from);
        if (hit) {
          cursor = Math.max(cursor, hit.end);
          return finish(() => resolve(hit.found));
        }
        if (ended) finish(() => reject(new Error(`process ended before printing ${what}; output:\n${out}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms; output:\n${out}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        then();
      };
      listeners.add(check);
      check();
    });

  const waitForOutput = (pattern: RegExp, timeoutMs?: number) => {
    // A global copy searches from an index, so ^ still means the start of a line, not where the search starts.
    const search = new RegExp(pattern.source, `${pattern.flags.replace(/[gy]/g, '')}g`);
    const find = (from: number) => {
      search.lastIndex = from;
      const m = search.exec(out);
      return m ? { found: m as RegExpMatchArray, end: m.index + m[0].length } : null;
    };
    return waitFor(find, String(pattern), timeoutMs);
  };

  const waitForEvent = (name: string, options: { where?: Record<string, unknown>; timeoutMs?: number } = {}) => {
    const wanted = { event: name, ...options.where };
    const find = (from: number) => {
      // Whole lines only (a line being written is not JSON yet), from the first that starts at or after `from`.
      const next = out.indexOf('\n', from);
      let start = from === 0 || out[from - 1] === '\n' ? from : next === -1 ? out.length : next + 1;
      for (let end = out.indexOf('\n', start); end !== -1; start = end + 1, end = out.indexOf('\n', start)) {
        const event = parseEvent(out.slice(start, end));
        if (event && Object.entries(wanted).every(([key, value]) => isDeepStrictEqual(event[key], value))) return { found: event, end: end + 1 };
      }
      return null;
    };
    return waitFor(find, `event ${JSON.stringify(wanted)}`, options.timeoutMs);
  };

  const stop = async (signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000) => {
    if (!ended) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const result = await exited;
    clearTimeout(timer);
    return result;
  };

  const events = (name: string) =>
    out
      .split('\n')
      .map(parseEvent)
      .filter((e): e is Record<string, unknown> => e?.event === name);

  return { child, output: () => out, waitForOutput, waitForEvent, events, exited, hasEnded: () => ended, stop };
}

/** A JSON log line parsed, or null for any other line. */
function parseEvent(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Repeats `action` every `everyMs` until `done()` says so, at most `times` times: for a subscriber in another
 * process, whose SUBSCRIBE a test cannot see going through, keep publishing until it has received one.
 */
export async function repeatUntil(done: () => boolean, action: () => Promise<unknown>, times = 30, everyMs = 200): Promise<void> {
  for (let i = 0; i < times && !done(); i++) {
    await action();
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A compiled broker on a free port that shares `redisUrl` with its peers, as instance `id`; `cleanup` ends it. */
export async function brokerOnRedis(redisUrl: string, id: string, cleanup: (() => unknown)[]): Promise<{ process: Spawned; mqtt: string; ws: string; http: string }> {
  const process = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--redis', redisUrl, '--id', id]);
  cleanup.push(() => process.stop('SIGKILL'));
  const { mqtt, ws, http } = await brokerReady(process, 20_000);
  return { process, mqtt, ws, http };
}

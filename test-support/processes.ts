import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReadyEvent } from '../broker/cli';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Waits (bounded) until stdout+stderr match `pattern`; returns the match. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Waits (bounded) for a JSON log line (`--log-format json`) whose `event` is `name`; returns it parsed. */
  waitForEvent(name: string, timeoutMs?: number): Promise<Record<string, unknown>>;
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
  return (await broker.waitForEvent('ready', timeoutMs)) as unknown as ReadyEvent;
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
  options: { detached?: boolean; cwd?: string } = {},
): Spawned {
  const child = spawn(command, args, { cwd: ROOT, ...options, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  const waitForOutput = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern);
        if (m) return finish(() => resolve(m));
        if (ended) finish(() => reject(new Error(`process ended before printing ${pattern}; output:\n${out}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${out}`))), timeoutMs);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        then();
      };
      listeners.add(check);
      check();
    });

  const waitForEvent = async (name: string, timeoutMs?: number) => {
    const [line] = await waitForOutput(new RegExp(`^\\{.*"event":"${name}".*\\}$`, 'm'), timeoutMs);
    return JSON.parse(line) as Record<string, unknown>;
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
      .filter((line) => line.startsWith('{') && line.includes(`"event":"${name}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((e) => e.event === name);

  return { child, output: () => out, waitForOutput, waitForEvent, events, exited, hasEnded: () => ended, stop };
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

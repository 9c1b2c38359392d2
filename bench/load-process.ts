/** The load tool (bench/load.ts) run as a process of its own, and what it reports. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from '../test-support/processes';
import type { ConnectJob, PubJob, RetainedJob, SubJob } from './load';

const TSX = import.meta.resolve('tsx');

/** Bounded waits: a load tool that hangs must not hang the benchmark. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms).unref())]);
}

export interface LoadProcess<T> {
  pid: number;
  /** The first line the tool prints: how many subscribers it connected, or when the publisher measures. */
  ready: Promise<Ready>;
  result: Promise<T>;
  stop: (window: object) => void;
  kill: () => void;
}

interface Ready {
  connected?: number;
  /** Why a subscriber could not connect or subscribe, when one could not. */
  error?: string;
  measuredFrom?: number;
  measuredTo?: number;
}

export function runLoad<T>(job: PubJob | SubJob | RetainedJob | ConnectJob): LoadProcess<T> {
  const child = spawn(process.execPath, ['--import', TSX, `${ROOT}bench/load.ts`, JSON.stringify(job)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin!.on('error', () => {}); // a tool that has exited cannot be told to stop: its exit says enough
  const lines = createInterface({ input: child.stdout! });
  let onReady: (ready: Ready) => void = () => {};
  let onExit: (error: Error) => void = () => {};
  const ready = new Promise<Ready>((resolve, reject) => {
    onReady = resolve;
    onExit = reject;
  });
  const result = new Promise<T>((resolve, reject) => {
    lines.on('line', (line) => {
      const value = JSON.parse(line);
      if (value.ready) onReady(value);
      else resolve(value as T);
    });
    child.once('exit', (code) => {
      const error = new Error(`load tool (${job.role}) exited with ${code}`);
      onExit(error);
      if (code !== 0) reject(error);
    });
  });
  ready.catch(() => {});
  result.catch(() => {});
  return {
    pid: child.pid!,
    ready,
    result,
    stop: (window) => child.stdin!.write(JSON.stringify(window) + '\n'),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Eclipse Paho's MQTT interoperability suite (vendored in third_party/paho-interop/), run against any broker: each
 * test in its own python3 process with a time limit (several MQTT 5 tests wait without limit), a time-out counted
 * as a failure.
 *
 * Every test of the suite uses the same client ids and topics and clears the broker's retained messages first, so
 * two tests must never share a broker: tests run side by side only on separate brokers, one lane per broker given.
 */
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './processes';

export type PahoSuite = 'v311' | 'v5';
export const PAHO_SUITES: Record<PahoSuite, string> = { v311: 'MQTT 3.1.1 (client_test.py)', v5: 'MQTT 5.0 (client_test5.py)' };

export interface PahoTarget {
  host: string;
  port: number;
}

export interface PahoResult {
  test: string;
  outcome: 'pass' | 'fail' | 'timeout';
  ms: number;
  /** The last lines of the test's output, for a test that did not pass; empty for one that did. */
  tail: string;
}

/**
 * A test's time limit: several pass only after 20 to 30 s, mostly the suite's own sleeps (1.1 s after each
 * DISCONNECT, 2 s to gather retained messages before each test).
 */
export const PAHO_TIMEOUT_MS = 45_000;

const DRIVER = join(ROOT, 'test-support', 'paho-one-test.py');
const TAIL_LINES = 15;

/** The suite's test names, as unittest finds them (asked of Python, so the list is the vendored suite's). */
export function pahoTestNames(suite: PahoSuite): string[] {
  return execFileSync('python3', [DRIVER, suite, '--list'], { encoding: 'utf8', timeout: 15_000 }).split('\n').filter(Boolean);
}

/** Runs one test in its own python3 process; past `timeoutMs` the process is killed and the test timed out. */
export function runPahoTest(suite: PahoSuite, test: string, target: PahoTarget, timeoutMs: number): Promise<PahoResult> {
  const started = Date.now();
  const child = spawn('python3', ['-u', DRIVER, suite, target.host, String(target.port), test], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      const outcome = timedOut ? 'timeout' : code === 0 ? 'pass' : 'fail';
      const tail = outcome === 'pass' ? '' : out.trimEnd().split('\n').slice(-TAIL_LINES).join('\n');
      resolve({ test, outcome, ms: Date.now() - started, tail });
    });
  });
}

/**
 * Runs every test of `suite` (or those in `only`), one process per test, as many at a time as there are
 * `targets` (each test on a broker no other test is using). Results in the suite's order.
 */
export async function runPahoSuite(
  suite: PahoSuite,
  targets: PahoTarget[],
  options: { timeoutMs?: number; only?: string[]; onResult?: (result: PahoResult) => void } = {},
): Promise<PahoResult[]> {
  if (targets.length === 0) throw new Error('runPahoSuite needs at least one broker');
  const tests = options.only ?? pahoTestNames(suite);
  const results = new Map<string, PahoResult>();
  let next = 0;
  const lane = async (target: PahoTarget) => {
    while (next < tests.length) {
      const test = tests[next++]!;
      const result = await runPahoTest(suite, test, target, options.timeoutMs ?? PAHO_TIMEOUT_MS);
      results.set(test, result);
      options.onResult?.(result);
    }
  };
  await Promise.all(targets.map(lane));
  return tests.map((test) => results.get(test)!);
}

/** How many passed, e.g. `22/27`. */
export function pahoScore(results: PahoResult[]): string {
  return `${results.filter((r) => r.outcome === 'pass').length}/${results.length}`;
}

/** One line per test (outcome, seconds, name), then the score; with `tails`, each failure's last output lines. */
export function pahoTable(suite: PahoSuite, results: PahoResult[], { tails = false } = {}): string {
  const lines = [`${PAHO_SUITES[suite]}: ${pahoScore(results)} passed`];
  for (const r of results) {
    lines.push(`  ${r.outcome.padEnd(7)} ${(r.ms / 1000).toFixed(1).padStart(5)} s  ${r.test}`);
    if (tails && r.tail) lines.push(...r.tail.split('\n').map((line) => `            | ${line}`));
  }
  return lines.join('\n');
}

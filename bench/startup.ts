/**
 * Broker start-up time (spawn to its JSON ready event) and idle RSS (2 s after ready), medians of N runs. Build
 * first (npm run build:dist).
 *
 *   node --import tsx bench/startup.ts [RUNS]           compiled (node dist/mqlive.js) against tsx, alternating (default 5)
 *   node --import tsx bench/startup.ts [RUNS] --store   compiled, with a filled store against an empty one and
 *                                                       --data-dir none (issue 28: 10,000 retained messages and
 *                                                       1,000 persistent sessions within 1 s; default 3 runs)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { brokerReady, spawnProcess, spawnTs, type Spawned } from '../test-support/processes';
import { rssMiB } from './proc-stats';
import { fillStore, folderMiB, STORE_BROKER_ARGS, verifyStore, FILL } from './store-fill';

const storeMode = process.argv.includes('--store');
const runsArg = process.argv.slice(2).find((a) => /^\d+$/.test(a));
const runs = Math.min(20, Math.max(1, Number(runsArg ?? (storeMode ? 3 : 5))));
const ARGS = ['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json'];
const compiled = (extra: string[]) => () => spawnProcess(process.execPath, ['dist/mqlive.js', ...ARGS, ...extra]);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], digits: number) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

/** Starts each way `runs` times, in turn, and prints each one's median start-up time and idle RSS. */
async function timeStarts(ways: Record<string, () => Spawned>): Promise<void> {
  const results: Record<string, { startMs: number[]; rss: number[] }> = Object.fromEntries(Object.keys(ways).map((name) => [name, { startMs: [], rss: [] }]));
  for (let i = 0; i < runs; i++) {
    for (const [name, start] of Object.entries(ways)) {
      const t0 = performance.now();
      const broker = start();
      await brokerReady(broker, 30_000);
      results[name]!.startMs.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 2000));
      results[name]!.rss.push(rssMiB(broker.child.pid!));
      const code = await broker.stop('SIGTERM');
      if (code !== 0) throw new Error(`${name}: the broker exited with ${code}:\n${broker.output()}`);
    }
  }
  console.log(`broker start-up and idle RSS, medians of ${runs} (${new Date().toISOString().slice(0, 16)} UTC)`);
  const width = Math.max(...Object.keys(ways).map((n) => n.length));
  for (const [name, r] of Object.entries(results)) {
    console.log(`  ${name.padEnd(width)}  start ${median(r.startMs).toFixed(0)} ms (${range(r.startMs, 0)}: ${r.startMs.map((t) => t.toFixed(0)).join(', ')}), idle RSS ${median(r.rss).toFixed(1)} MiB (${range(r.rss, 1)})`);
  }
}

if (!storeMode) {
  await timeStarts({ compiled: compiled([]), tsx: () => spawnTs('bin/mqlive.ts', ARGS) });
} else {
  const filled = mkdtempSync(join(tmpdir(), 'mqlive-bench-filled-'));
  const empty = mkdtempSync(join(tmpdir(), 'mqlive-bench-empty-'));
  try {
    const fill = await fillStore(filled);
    console.log(
      `filled ${filled} through a running broker with MQTT.js clients in ${(fill.ms / 1000).toFixed(1)} s: ${FILL.retained} retained messages, ` +
        `${FILL.sessions} persistent sessions (${FILL.subscriptionsPerSession} subscriptions and ${FILL.queuedPerSession} queued QoS 1 messages each); store ${folderMiB(filled).toFixed(1)} MiB`,
    );
    await timeStarts({
      'filled store': compiled(['--data-dir', filled, ...STORE_BROKER_ARGS]),
      'empty store': compiled(['--data-dir', empty, ...STORE_BROKER_ARGS]),
      '--data-dir none': compiled(['--data-dir', 'none', ...STORE_BROKER_ARGS]),
    });
    // After the timed starts (so none of them began with a session already taken): the store still holds it all.
    const seen = await verifyStore(filled);
    console.log(`checked after the timed starts: ${seen.retained} retained messages came back, and ${seen.queued} queued messages to one of the sessions`);
  } finally {
    rmSync(filled, { recursive: true, force: true });
    rmSync(empty, { recursive: true, force: true });
  }
}

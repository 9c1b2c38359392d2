/**
 * Broker start-up time (spawn to its JSON ready event) and idle RSS (2 s after ready), for the compiled command
 * (node dist/mqlive.js) against the same code run through tsx (node --import tsx bin/mqlive.ts), alternating,
 * medians of N runs. Build first (npm run build:dist).
 *
 *   node --import tsx bench/startup.ts [RUNS]      (default 5)
 */
import { performance } from 'node:perf_hooks';
import { brokerReady, spawnProcess, spawnTs } from '../test-support/processes';
import { rssMiB } from './proc-stats';

const runs = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
const ARGS = ['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json'];
const ways = {
  compiled: () => spawnProcess(process.execPath, ['dist/mqlive.js', ...ARGS]),
  tsx: () => spawnTs('bin/mqlive.ts', ARGS),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results: Record<string, { startMs: number[]; rss: number[] }> = { compiled: { startMs: [], rss: [] }, tsx: { startMs: [], rss: [] } };

for (let i = 0; i < runs; i++) {
  for (const [name, start] of Object.entries(ways)) {
    const t0 = performance.now();
    const broker = start();
    await brokerReady(broker, 30_000);
    results[name]!.startMs.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 2000));
    results[name]!.rss.push(rssMiB(broker.child.pid!));
    await broker.stop('SIGTERM');
  }
}
console.log(`broker start-up and idle RSS, medians of ${runs} (${new Date().toISOString().slice(0, 10)})`);
for (const [name, r] of Object.entries(results)) {
  console.log(`  ${name.padEnd(9)} start ${median(r.startMs).toFixed(0)} ms (${Math.min(...r.startMs).toFixed(0)}-${Math.max(...r.startMs).toFixed(0)}), idle RSS ${median(r.rss).toFixed(1)} MiB (${Math.min(...r.rss).toFixed(1)}-${Math.max(...r.rss).toFixed(1)})`);
}

/**
 * mqlive's benchmarks, side by side with Debian's Mosquitto in one run. `make bench` runs the default set;
 * `npm run bench -- --help` lists the knobs. Results: a table on stdout, JSON lines in bench/results/,
 * and an SVG chart of the latency percentiles.
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseOptions, UsageError, type OptionSpec } from '../cli/options';
import type { PubJob, PubResult, SubJob, SubResult } from './load';
import { latencyChart } from './chart';
import { cpuSeconds, machineCpuSeconds, openFds, rssMiB } from './proc-stats';
import { startMosquittoTarget, startMqlive, type Target } from './targets';
import { startRedis } from '../test-support/redis';
import { runViewerBench } from './viewer-bench';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = `${ROOT}bench/results`;
const TSX = import.meta.resolve('tsx');

const OPTIONS = {
  scenarios: { env: 'BENCH_SCENARIOS', type: 'string', help: 'comma list: fanout, saturate, viewer, idle, load200, cluster, soak (default fanout,saturate,viewer,idle,load200,cluster)' },
  against: { env: 'BENCH_AGAINST', type: 'string', help: 'peer broker to run side by side: mosquitto or none (default mosquitto)' },
  transports: { env: 'BENCH_TRANSPORTS', type: 'string', help: 'tcp, ws or both (default tcp,ws)' },
  subscribers: { env: 'BENCH_SUBSCRIBERS', type: 'string', help: 'fanout subscribers (default 50)' },
  rate: { env: 'BENCH_RATE', type: 'string', help: 'moves per second (default 1000)' },
  seconds: { env: 'BENCH_SECONDS', type: 'string', help: 'measured seconds per run (default 10)' },
  warmup: { env: 'BENCH_WARMUP', type: 'string', help: 'warm-up seconds before measuring (default 2)' },
  repeats: { env: 'BENCH_REPEATS', type: 'string', help: 'runs per case; the broker order alternates (default 1)' },
  minutes: { env: 'BENCH_SOAK_MINUTES', type: 'string', help: 'soak length in minutes (default 10)' },
  idle: { env: 'BENCH_IDLE', type: 'string', help: 'idle connections for the idle scenario (default 2000)' },
} satisfies Record<string, OptionSpec>;

export interface Row {
  scenario: string;
  broker: string;
  transport: string;
  [key: string]: string | number | boolean | null;
}

/** Bounded waits: a load tool that hangs must not hang the benchmark. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took more than ${ms / 1000} s`)), ms).unref())]);
}

function runLoad<T>(job: PubJob | SubJob): { pid: number; ready: Promise<number>; result: Promise<T>; stop: (window: object) => void; kill: () => void } {
  const child = spawn(process.execPath, ['--import', TSX, `${ROOT}bench/load.ts`, JSON.stringify(job)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  let onReady: (connected: number) => void = () => {};
  let onExit: (error: Error) => void = () => {};
  const ready = new Promise<number>((resolve, reject) => {
    onReady = resolve;
    onExit = reject;
  });
  const result = new Promise<T>((resolve, reject) => {
    lines.on('line', (line) => {
      const value = JSON.parse(line);
      if (value.ready) onReady(value.connected);
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
  return { pid: child.pid!, ready, result, stop: (window) => child.stdin!.write(JSON.stringify(window) + '\n'), kill: () => child.kill('SIGKILL') };
}

interface FanoutCase {
  scenario: string;
  transport: 'tcp' | 'ws';
  subscribers: number;
  rate: number; // 0 = saturate
  seconds: number;
  warmup: number;
  clickRate: number;
  sampleEverySeconds?: number;
  /** The publisher's broker when it is not the subscribers' (two instances sharing Redis). */
  pubUrl?: string;
  label?: string;
}

/** One publisher and N subscribers on devices/+/mouse/#, in processes of their own; the broker's CPU and memory from /proc. */
async function fanout(target: Target, c: FanoutCase): Promise<Row> {
  const url = c.transport === 'tcp' ? target.tcpUrl : target.wsUrl;
  await new Promise((r) => setTimeout(r, 1000)); // let the previous case's connections close
  const fdsBefore = openFds(target.pid);
  const sub = runLoad<SubResult>({ role: 'sub', url, count: c.subscribers, filter: 'devices/+/mouse/#' });
  const subscribed = await within(sub.ready, 120_000, 'connecting the subscribers').catch((error: Error) => {
    sub.kill();
    throw error;
  });
  if (subscribed < c.subscribers) {
    sub.kill();
    throw new Error(`${target.name} accepted only ${subscribed} of ${c.subscribers} subscribers`);
  }
  const pub = runLoad<PubResult>({ role: 'pub', url: c.pubUrl ?? url, rate: c.rate, warmupSeconds: c.warmup, seconds: c.seconds, clickRate: c.clickRate });
  await new Promise((r) => setTimeout(r, c.warmup * 1000));
  const cpu0 = cpuSeconds(target.pid);
  const machine0 = machineCpuSeconds();
  const subCpu0 = cpuSeconds(sub.pid);
  const rss0 = rssMiB(target.pid);
  const rssSamples: number[] = [];
  const sampler = c.sampleEverySeconds ? setInterval(() => rssSamples.push(rssMiB(target.pid)), c.sampleEverySeconds * 1000) : undefined;
  const published = await within(pub.result, (c.warmup + c.seconds + 60) * 1000, 'publishing');
  clearInterval(sampler);
  const cpu1 = cpuSeconds(target.pid);
  const subCpu1 = cpuSeconds(sub.pid);
  const machine1 = machineCpuSeconds();
  const rss1 = rssMiB(target.pid);
  // Anything not delivered 2 s after the last publish counts as lost or still queued.
  await new Promise((r) => setTimeout(r, 2000));
  sub.stop({ from: published.measuredFrom, to: published.measuredTo });
  const got = await within(sub.result, 60_000, 'the subscribers\' report');
  await new Promise((r) => setTimeout(r, 2000)); // let this case's connections close
  const fdsAfter = openFds(target.pid);

  const measuredMoves = published.lastMeasuredSeq - published.firstMeasuredSeq + 1;
  const expected = measuredMoves * c.subscribers;
  const brokerCpu = cpu1 - cpu0;
  const others = machine1 - machine0 - brokerCpu - (subCpu1 - subCpu0) - published.cpuSeconds;
  const delivered = c.rate > 0 ? got.received : got.inWindow;
  return {
    scenario: c.scenario,
    broker: c.label ?? target.name,
    transport: c.transport,
    subscribers: c.subscribers,
    rate: c.rate,
    seconds: c.seconds,
    expected: c.rate > 0 ? expected : null,
    received: got.received,
    lossPct: c.rate > 0 ? round((100 * (expected - got.received)) / expected, 2) : null,
    duplicates: got.duplicates,
    outOfOrder: got.outOfOrder,
    clicksSent: published.clicks,
    clicksWorstSubscriber: c.clickRate > 0 ? got.clicksMin : null,
    p50ms: round(got.latency.p50, 2),
    p95ms: round(got.latency.p95, 2),
    p99ms: round(got.latency.p99, 2),
    maxMs: round(got.latency.max, 1),
    deliveredPerSec: Math.round(delivered / c.seconds),
    brokerCpuPct: round((100 * brokerCpu) / c.seconds, 1),
    cpuPerMsgUs: round((brokerCpu * 1e6) / Math.max(1, delivered), 2),
    rssStartMiB: round(rss0, 1),
    rssEndMiB: round(rss1, 1),
    rssAfterFirstMinuteMiB: rssSamples[0] !== undefined ? round(rssSamples[0], 1) : null,
    fdLeak: fdsAfter - fdsBefore,
    busy: others / c.seconds > 0.3, // other processes took more than 30% of a core
  };
}

/**
 * N idle connections: memory per connection, as the growth from N/2 to N connections, so the broker's
 * start-up heap growth is not counted as the connections' cost.
 */
async function idle(target: Target, transport: 'tcp' | 'ws', count: number): Promise<Row> {
  const url = transport === 'tcp' ? target.tcpUrl : target.wsUrl;
  const half = Math.floor(count / 2);
  const subs = [runLoad<SubResult>({ role: 'sub', url, count: half, filter: 'idle/none' })];
  const settle = () => new Promise((r) => setTimeout(r, 3000));
  try {
    const first = await within(subs[0]!.ready, 120_000, `opening ${half} idle connections`);
    await settle();
    const rssHalf = rssMiB(target.pid);
    subs.push(runLoad<SubResult>({ role: 'sub', url, count: half, filter: 'idle/none' }));
    const second = await within(subs[1]!.ready, 120_000, `opening ${count} idle connections`);
    await settle();
    const rssFull = rssMiB(target.pid);
    return {
      scenario: 'idle',
      broker: target.name,
      transport,
      connections: first + second,
      rssHalfMiB: round(rssHalf, 1),
      rssFullMiB: round(rssFull, 1),
      kibPerConnection: round(((rssFull - rssHalf) * 1024) / Math.max(1, second), 1),
    };
  } finally {
    for (const sub of subs) sub.kill();
  }
}

/** A case that could not finish is a row that says why, not the end of the whole run. */
function failedRow(scenario: string, broker: string, transport: string, error: Error): Row {
  console.log(`  ${scenario} ${broker} ${transport}: FAILED: ${error.message}`);
  return { scenario, broker, transport, error: error.message };
}

function round(n: number, digits: number): number {
  return Number.isFinite(n) ? Number(n.toFixed(digits)) : NaN;
}

function printTable(rows: Row[]): void {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => rows.some((r) => r[k] !== null && r[k] !== undefined));
  const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(line(keys));
  for (const r of rows) console.log(line(keys.map((k) => String(r[k] ?? ''))));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Each case's median over the repeats, and mqlive's ratio to Mosquitto's median. */
function ratios(rows: Row[]): Row[] {
  const out: Row[] = [];
  const keys = ['p99ms', 'cpuPerMsgUs', 'deliveredPerSec', 'kibPerConnection'];
  const cases = new Set(rows.filter((r) => r.broker === 'mqlive' && !r.error).map((r) => `${r.scenario}|${r.transport}`));
  for (const c of cases) {
    const [scenario, transport] = c.split('|');
    const med = (broker: string, k: string) => {
      const values = rows.filter((r) => r.broker === broker && r.scenario === scenario && r.transport === transport && typeof r[k] === 'number').map((r) => r[k] as number);
      return values.length ? median(values) : null;
    };
    const row: Row = { scenario: scenario!, broker: 'median mqlive / mosquitto', transport: transport! };
    for (const k of keys) {
      const mine = med('mqlive', k);
      const peer = med('mosquitto', k);
      if (mine !== null) row[k] = peer ? `${round(mine, 2)} / ${round(peer, 2)} = ${round(mine / peer, 2)}x` : `${round(mine, 2)}`;
    }
    out.push(row);
  }
  return out;
}

async function main(): Promise<void> {
  let o;
  try {
    o = parseOptions(OPTIONS, process.argv.slice(2).filter((a) => a !== '--help'), process.env);
  } catch (error) {
    console.error(`bench: ${(error as UsageError).message}`);
    process.exit(2);
  }
  const scenarios = (o.scenarios ?? 'fanout,saturate,viewer,idle,load200,cluster').split(',');
  const transports = (o.transports ?? 'tcp,ws').split(',') as ('tcp' | 'ws')[];
  const against = o.against ?? 'mosquitto';
  const seconds = Number(o.seconds ?? 10);
  const warmup = Number(o.warmup ?? 2);
  const rate = Number(o.rate ?? 1000);
  const subscribers = Number(o.subscribers ?? 50);
  const repeats = Number(o.repeats ?? 1);
  mkdirSync(RESULTS, { recursive: true });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  console.log(`mqlive bench on ${machine}`);

  const rows: Row[] = [];
  const record = (row: Row) => {
    rows.push(row);
    appendFileSync(`${RESULTS}/results.jsonl`, JSON.stringify({ at: new Date().toISOString(), machine, ...row }) + '\n');
    if (!row.error) {
      const figures = Object.entries(row).filter(([k]) => /p99ms|deliveredPerSec|cpuPerMsgUs|frameP95ms|kibPerConnection|lossPct/.test(k));
      console.log(`  ${row.scenario} ${row.broker} ${row.transport}: ${figures.map(([k, v]) => `${k} ${v}`).join(', ')}${row.busy ? ' (machine busy: flagged)' : ''}`);
    }
  };
  const starters = [startMqlive, ...(against === 'mosquitto' ? [startMosquittoTarget] : [])];
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? starters : [...starters].reverse();
    for (const start of order) {
      const target = await start();
      try {
        for (const scenario of scenarios) {
          const cases: FanoutCase[] = [];
          if (scenario === 'fanout') for (const t of transports) cases.push({ scenario, transport: t, subscribers, rate, seconds, warmup, clickRate: 0 });
          if (scenario === 'saturate') for (const t of transports) cases.push({ scenario, transport: t, subscribers: 1, rate: 0, seconds, warmup, clickRate: 0 });
          if (scenario === 'load200') cases.push({ scenario, transport: 'ws', subscribers: 200, rate: 1000, seconds, warmup, clickRate: 10 });
          if (scenario === 'soak') cases.push({ scenario, transport: 'ws', subscribers: 200, rate: 1000, seconds: Number(o.minutes ?? 10) * 60, warmup, clickRate: 10, sampleEverySeconds: 60 });
          for (const c of cases) {
            record(await fanout(target, c).catch((error: Error) => failedRow(c.scenario, target.name, c.transport, error)));
          }
          if (scenario === 'cluster' && target.name === 'mqlive') {
            // Two instances on one Redis: publisher on A, subscribers on B; and one instance on Redis alone.
            const redis = await startRedis();
            const a = await startMqlive(['--redis', redis.url, '--id', 'bench-a']);
            const b = await startMqlive(['--redis', redis.url, '--id', 'bench-b']);
            try {
              const base = { scenario, transport: 'tcp' as const, subscribers, rate, seconds, warmup, clickRate: 0 };
              for (const c of [
                { ...base, label: 'mqlive A→B via Redis', pubUrl: a.tcpUrl },
                { ...base, label: 'mqlive one instance on Redis' },
                { ...base, scenario: 'cluster-saturate', rate: 0, subscribers: 1, label: 'mqlive A→B via Redis', pubUrl: a.tcpUrl },
                { ...base, scenario: 'cluster-saturate', rate: 0, subscribers: 1, label: 'mqlive one instance on Redis' },
              ]) {
                record(await fanout(b, c).catch((error: Error) => failedRow(c.scenario, c.label, 'tcp', error)));
              }
            } finally {
              await a.stop();
              await b.stop();
              await redis.stop();
            }
          }
          if (scenario === 'idle') {
            for (const t of transports) {
              // A fresh broker of the same kind: what earlier scenarios left in its heap would blur the figure.
              const fresh = await start();
              const row = await idle(fresh, t, Number(o.idle ?? 2000)).catch((error: Error) => failedRow('idle', target.name, t, error));
              await fresh.stop();
              record(row);
            }
          }
          if (scenario === 'viewer' && target.name === 'mqlive') {
            record(await runViewerBench(target, { rate, seconds, warmup }).catch((error: Error) => failedRow('viewer', target.name, 'ws', error)));
          }
        }
      } finally {
        await target.stop();
      }
    }
  }
  console.log('');
  printTable(rows);
  const r = ratios(rows);
  if (r.length > 0) {
    console.log('');
    printTable(r);
  }
  writeFileSync(`${RESULTS}/latency.svg`, latencyChart(rows, machine));
  console.log(`\nResults appended to bench/results/results.jsonl; chart in bench/results/latency.svg`);
}

await main();

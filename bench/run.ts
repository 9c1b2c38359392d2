/**
 * mqlive's benchmarks, side by side with Debian's Mosquitto in one run. `make bench` runs the default set;
 * `npm run bench -- --help` lists the knobs. Results: a table on stdout, JSON lines in bench/results/,
 * and an SVG chart of the latency percentiles.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { optionLines, parseOptions, UsageError, type OptionSpec } from '../cli/options';
import type { ConnectResult, PubResult, RetainedResult, SubResult } from './load';
import { runLoad, within, type LoadProcess } from './load-process';
import type { ProtocolVersion } from './load-client';
import { latencyChart } from './chart';
import { cpuSeconds, machineCpuSeconds, machineIrqSeconds, openFds, rssMiB } from './proc-stats';
import { mergedPercentile, monoMs } from './clock';
import { mqliveBaseline, startMosquittoTarget, startMqlive, startMqliveStored, type Target } from './targets';
import { startRedis, type RedisServer } from '../test-support/redis';
import { runViewerBench } from './viewer-bench';
import { caseRuns, spreadOf } from './medians';
import { connectTable, goalsTable, retainedTable, storeGoalsTable } from './goals';
import { connectFigures } from './connect-figures';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = `${ROOT}bench/results`;

const OPTIONS = {
  scenarios: { env: 'BENCH_SCENARIOS', type: 'string', help: 'comma list: fanout (mqlive in memory, mqlive with its store on, Mosquitto), saturate, fanout-v5, saturate-v5 (the same with MQTT 5 clients), retained-durable (retained QoS 1 updates at BENCH_RATE: PUBACK latency; store on, in memory, Mosquitto with persistence true), viewer, viewer-all (viewer with # subscribed and 50 more topics at 10 Hz), idle, load200, cluster, cluster-connect (BENCH_CONNECTS clean-session TCP clients spread over two instances on one Redis, against one instance on it, one without Redis and Mosquitto: connects/s and CONNECT to CONNACK), soak (default fanout,saturate,fanout-v5,saturate-v5,retained-durable,viewer,idle,load200,cluster,cluster-connect)' },
  against: { env: 'BENCH_AGAINST', type: 'string', help: 'peer broker to run side by side: mosquitto or none (default mosquitto)' },
  transports: { env: 'BENCH_TRANSPORTS', type: 'string', help: 'tcp, ws or both (default tcp,ws)' },
  subscribers: { env: 'BENCH_SUBSCRIBERS', type: 'string', help: 'fanout subscribers (default 50)' },
  rate: { env: 'BENCH_RATE', type: 'string', help: 'moves per second (default 1000)' },
  seconds: { env: 'BENCH_SECONDS', type: 'string', help: 'measured seconds per run (default 10)' },
  warmup: { env: 'BENCH_WARMUP', type: 'string', help: 'warm-up seconds before measuring (default 2)' },
  repeats: { env: 'BENCH_REPEATS', type: 'string', help: 'runs per case; the broker order alternates (default 3)' },
  baseline: { env: 'BENCH_BASELINE', type: 'string', help: "an earlier build's dist/mqlive.js, run as mqlive-before beside mqlive (to measure a change)" },
  profile: { env: 'BENCH_PROFILE', type: 'string', help: 'a folder: every mqlive broker writes a CPU profile there (node --cpu-prof); read one with node --import tsx bench/profile-summary.ts FILE' },
  subProcesses: { env: 'BENCH_SUB_PROCESSES', type: 'string', help: 'load processes the subscribers are spread over, evenly (default 5)' },
  minutes: { env: 'BENCH_SOAK_MINUTES', type: 'string', help: 'soak length in minutes (default 10)' },
  idle: { env: 'BENCH_IDLE', type: 'string', help: 'idle connections for the idle scenario (default 2000)' },
  viewers: { env: 'BENCH_VIEWERS', type: 'string', help: 'WebSocket viewers in load200 and soak (default 200)' },
  connects: { env: 'BENCH_CONNECTS', type: 'string', help: 'clients cluster-connect connects per case (default 1000)' },
  connectBatch: { env: 'BENCH_CONNECT_BATCH', type: 'string', help: 'cluster-connect: at most this many CONNECTs unanswered at once, over all its processes (default 50)' },
} satisfies Record<string, OptionSpec>;

export interface Row {
  scenario: string;
  broker: string;
  transport: string;
  [key: string]: string | number | boolean | null;
}

interface FanoutCase {
  scenario: string;
  transport: 'tcp' | 'ws';
  subscribers: number;
  rate: number; // 0 = saturate
  seconds: number;
  warmup: number;
  clickRate: number;
  /** The MQTT version the publisher and subscribers connect with: 4 (3.1.1) or 5. */
  protocolVersion: ProtocolVersion;
  /**
   * Load processes the subscribers are spread over: enough that none is the limit (each one's CPU is checked), and
   * few enough that on 2 cores they do not queue for the CPU behind each other (20 made load200's p99 the scheduler's).
   */
  subProcesses: number;
  sampleEverySeconds?: number;
  /** The publisher's broker when it is not the subscribers' (two instances sharing Redis). */
  pubUrl?: string;
  /** The other processes of the system under test (the other instance, Redis): their CPU is reported, not counted as others'. */
  systemPids?: number[];
  label?: string;
  /** What the broker keeps its data in, when not the target's own (the cluster cases: Redis). */
  store?: string;
}

/** The scenarios mqlive also runs with its durable store on (issue 28). */
const STORE_SCENARIOS = new Set(['fanout', 'retained-durable']);
/** retained-durable's topics: the updates go round them, so each is retained and replaced again and again. */
const RETAINED_TOPICS = 1000;

/** A load process above this share of one core may be what limits the run: the run is flagged. */
const LOAD_CPU_LIMIT_PCT = 70;
/** Other processes on the machine above this share of one core during the run: the run is flagged. */
const OTHERS_CPU_LIMIT_PCT = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * One paced (or saturating) publisher and N subscribers on devices/+/mouse/#, spread over processes of their own;
 * the broker's and every load process's CPU over the measured window, from /proc.
 */
async function fanout(target: Target, c: FanoutCase): Promise<Row> {
  const url = c.transport === 'tcp' ? target.tcpUrl : target.wsUrl;
  await sleep(1000); // let the previous case's connections close
  const fdsBefore = openFds(target.pid);
  const processes: LoadProcess<unknown>[] = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    const processCount = Math.min(c.subProcesses, c.subscribers);
    const groups = Array.from({ length: processCount }, (_, i) => Math.floor((c.subscribers + i) / processCount));
    const subs = groups.map((count) => runLoad<SubResult>({ role: 'sub', url, protocolVersion: c.protocolVersion, count, filter: 'devices/+/mouse/#' }));
    processes.push(...subs);
    const readies = await within(Promise.all(subs.map((s) => s.ready)), 120_000, 'connecting the subscribers');
    const subscribed = readies.reduce((sum, r) => sum + (r.connected ?? 0), 0);
    const why = readies.find((r) => r.error)?.error;
    if (subscribed < c.subscribers) throw new Error(`${target.name} accepted only ${subscribed} of ${c.subscribers} subscribers${why ? ` (${why})` : ''}`);

    const pub = runLoad<PubResult>({ role: 'pub', url: c.pubUrl ?? url, protocolVersion: c.protocolVersion, rate: c.rate, warmupSeconds: c.warmup, seconds: c.seconds, clickRate: c.clickRate });
    processes.push(pub);
    const { measuredFrom, measuredTo } = await within(pub.ready, 60_000, 'connecting the publisher');
    // The measured window is the publisher's, on the shared monotonic clock.
    await sleep(measuredFrom! - monoMs());
    const systemPids = c.systemPids ?? [];
    const cpu = () => ({
      broker: cpuSeconds(target.pid),
      load: processes.map((p) => cpuSeconds(p.pid)),
      system: systemPids.map((pid) => cpuSeconds(pid)),
      machine: machineCpuSeconds(),
      irq: machineIrqSeconds(),
      at: monoMs(),
    });
    const before = cpu();
    const rss0 = rssMiB(target.pid);
    const rssSamples: number[] = [];
    if (c.sampleEverySeconds) sampler = setInterval(() => rssSamples.push(rssMiB(target.pid)), c.sampleEverySeconds * 1000);
    await sleep(measuredTo! - monoMs());
    const after = cpu();
    if (!Number.isFinite(after.broker)) throw new Error(`${target.name} stopped during the run`);
    const rss1 = rssMiB(target.pid);
    clearInterval(sampler);
    const published = await within(pub.result, 60_000, 'publishing');
    // Anything not delivered 2 s after the last publish counts as lost or still queued.
    await sleep(2000);
    for (const s of subs) s.stop({ from: published.measuredFrom, to: published.measuredTo });
    const got = await within(Promise.all(subs.map((s) => s.result)), 60_000, "the subscribers' report");
    await sleep(2000); // let this case's connections close
    const fdsAfter = openFds(target.pid);

    const window = (after.at - before.at) / 1000;
    const brokerCpu = after.broker - before.broker;
    const loadCpu = after.load.map((v, i) => v - before.load[i]!);
    const loadPct = loadCpu.map((v) => (100 * v) / window);
    const subMaxPct = Math.max(...loadPct.slice(0, subs.length));
    const pubPct = loadPct.at(-1)!;
    const systemCpu = after.system.map((v, i) => v - before.system[i]!);
    const othersPct = (100 * (after.machine - before.machine - brokerCpu - [...loadCpu, ...systemCpu].reduce((a, b) => a + b, 0))) / window;
    const measuredMoves = published.lastMeasuredSeq - published.firstMeasuredSeq + 1;
    const expected = measuredMoves * c.subscribers;
    const sum = (k: 'received' | 'duplicates' | 'outOfOrder' | 'inWindow') => got.reduce((total, g) => total + g[k], 0);
    const received = sum('received');
    const delivered = c.rate > 0 ? received : sum('inWindow');
    const duplicates = sum('duplicates');
    const clicksWorst = Math.min(...got.flatMap((g) => g.clicks));
    const loadBound = Math.max(subMaxPct, pubPct) > LOAD_CPU_LIMIT_PCT;
    const busy = othersPct > OTHERS_CPU_LIMIT_PCT;
    return {
      scenario: c.scenario,
      broker: c.label ?? target.name,
      transport: c.transport,
      store: c.store ?? target.store,
      subscribers: c.subscribers,
      rate: c.rate,
      seconds: c.seconds,
      expected: c.rate > 0 ? expected : null,
      received,
      // Duplicates are counted in `received`: they must not make up for lost messages.
      lossPct: c.rate > 0 ? round((100 * (expected - (received - duplicates))) / expected, 2) : null,
      duplicates,
      outOfOrder: sum('outOfOrder'),
      clicksSent: published.clicks,
      clicksWorstSubscriber: c.clickRate > 0 ? clicksWorst : null,
      clicksMissed: c.clickRate > 0 ? published.clicks - clicksWorst : null,
      p50ms: round(mergedPercentile(got, 50), 2),
      p95ms: round(mergedPercentile(got, 95), 2),
      p99ms: round(mergedPercentile(got, 99), 2),
      maxMs: round(Math.max(...got.map((g) => g.latencyMax)), 1),
      sendIntervalP50ms: c.rate > 0 ? round(published.intervalP50Ms, 3) : null,
      sendIntervalP99ms: c.rate > 0 ? round(published.intervalP99Ms, 3) : null,
      deliveredPerSec: Math.round(delivered / window),
      brokerCpuPct: round((100 * brokerCpu) / window, 1),
      // The other instance and Redis, in the order of systemPids (cluster cases only).
      systemCpuPct: systemPids.length ? systemCpu.map((v) => round((100 * v) / window, 1)).join(' / ') : null,
      cpuPerMsgUs: round((brokerCpu * 1e6) / Math.max(1, delivered), 2),
      pubCpuPct: round(pubPct, 1),
      subProcesses: subs.length,
      subCpuMaxPct: round(subMaxPct, 1),
      othersCpuPct: round(othersPct, 1),
      irqCpuPct: round((100 * (after.irq - before.irq)) / window, 1),
      // The load tool's processes together, in % of one core: with the broker's, how much of the machine's cores
      // were taken (on 2 cores, near 200 means latency includes waiting for a CPU).
      loadCpuTotalPct: round(loadPct.reduce((a, b) => a + b, 0), 1),
      rssStartMiB: round(rss0, 1),
      rssEndMiB: round(rss1, 1),
      rssAfterFirstMinuteMiB: rssSamples[0] !== undefined ? round(rssSamples[0], 1) : null,
      fdLeak: fdsAfter - fdsBefore,
      loadBound,
      busy,
      flagged: loadBound || busy,
    };
  } finally {
    clearInterval(sampler);
    for (const p of processes) p.kill();
  }
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
    const first = (await within(subs[0]!.ready, 120_000, `opening ${half} idle connections`)).connected ?? 0;
    await settle();
    const rssHalf = rssMiB(target.pid);
    subs.push(runLoad<SubResult>({ role: 'sub', url, count: half, filter: 'idle/none' }));
    const second = (await within(subs[1]!.ready, 120_000, `opening ${count} idle connections`)).connected ?? 0;
    await settle();
    const rssFull = rssMiB(target.pid);
    return {
      scenario: 'idle',
      broker: target.name,
      transport,
      store: target.store,
      connections: first + second,
      rssHalfMiB: round(rssHalf, 1),
      rssFullMiB: round(rssFull, 1),
      kibPerConnection: round(((rssFull - rssHalf) * 1024) / Math.max(1, second), 1),
    };
  } finally {
    for (const sub of subs) sub.kill();
  }
}

/** The generator's achieved rate below this share of the asked one: it could not keep pace, the run is flagged. */
const PACE_LIMIT = 0.98;

/**
 * Issue 28: retained QoS 1 updates at `rate` over `topics` topics from one publisher over TCP (bench/load.ts,
 * role retained), each timed from its send to its PUBACK; the broker's CPU per acknowledged update from /proc over
 * the measured window. Flagged like fanout (the publisher above 70% of a core, others above 30%), and also when the
 * publisher did not keep the asked rate.
 */
async function retainedDurable(target: Target, c: { rate: number; topics: number; seconds: number; warmup: number }): Promise<Row> {
  await sleep(1000); // let the previous case's connections close
  const pub = runLoad<RetainedResult>({ role: 'retained', url: target.tcpUrl, rate: c.rate, topics: c.topics, warmupSeconds: c.warmup, seconds: c.seconds });
  try {
    const { measuredFrom, measuredTo } = await within(pub.ready, 60_000, 'connecting the publisher');
    await sleep(measuredFrom! - monoMs());
    const cpu = () => ({ broker: cpuSeconds(target.pid), pub: cpuSeconds(pub.pid), machine: machineCpuSeconds(), at: monoMs() });
    const before = cpu();
    await sleep(measuredTo! - monoMs());
    const after = cpu();
    if (!Number.isFinite(after.broker)) throw new Error(`${target.name} stopped during the run`);
    const r = await within(pub.result, 60_000, 'publishing');
    const window = (after.at - before.at) / 1000;
    const brokerCpu = after.broker - before.broker;
    const pubCpu = after.pub - before.pub;
    const pubPct = (100 * pubCpu) / window;
    const othersPct = (100 * (after.machine - before.machine - brokerCpu - pubCpu)) / window;
    const achievedRate = r.measuredSent / c.seconds;
    const loadBound = pubPct > LOAD_CPU_LIMIT_PCT || achievedRate < PACE_LIMIT * c.rate;
    const busy = othersPct > OTHERS_CPU_LIMIT_PCT;
    return {
      scenario: 'retained-durable',
      broker: target.name,
      transport: 'tcp',
      store: target.store,
      rate: c.rate,
      topics: c.topics,
      seconds: c.seconds,
      achievedRate: round(achievedRate, 1),
      sent: r.measuredSent,
      acked: r.measuredAcked,
      unacked: r.measuredSent - r.measuredAcked,
      idsReused: r.idsReused,
      // Publish-to-PUBACK latency (p99ms under this name, so the medians, chart and summary read it like the others').
      p50ms: round(r.ackP50Ms, 2),
      p99ms: round(r.ackP99Ms, 2),
      maxMs: round(r.ackMaxMs, 1),
      sendIntervalP50ms: round(r.intervalP50Ms, 3),
      sendIntervalP99ms: round(r.intervalP99Ms, 3),
      brokerCpuPct: round((100 * brokerCpu) / window, 1),
      cpuPerMsgUs: round((brokerCpu * 1e6) / Math.max(1, r.measuredAcked), 2),
      pubCpuPct: round(pubPct, 1),
      othersCpuPct: round(othersPct, 1),
      rssEndMiB: round(rssMiB(target.pid), 1),
      loadBound,
      busy,
      flagged: loadBound || busy,
    };
  } finally {
    pub.kill();
  }
}

/** Two instances of one mqlive build on a fresh redis-server, for `body`; all three stopped after. */
async function withCluster(instance: (args: string[]) => Promise<Target>, body: (redis: RedisServer, a: Target, b: Target) => Promise<void>): Promise<void> {
  const redis = await startRedis();
  const started: Target[] = [];
  try {
    started.push(await instance(['--redis', redis.url, '--id', 'bench-a']));
    started.push(await instance(['--redis', redis.url, '--id', 'bench-b']));
    await body(redis, started[0]!, started[1]!);
  } finally {
    for (const t of started) await t.stop().catch((error: Error) => console.log(`  stopping ${t.name}: ${error.message}`));
    await redis.stop();
  }
}

/** cluster-connect's generator processes: two, so that one event loop is not what paces the CONNECTs. */
const CONNECT_PROCESSES = 2;

interface ConnectCase {
  label: string;
  /** The brokers the clients are spread over, evenly (client i to urls[i % urls.length]). */
  urls: string[];
  /** The processes of those brokers: their CPU is the brokers' CPU. */
  brokerPids: number[];
  /** Other processes of the system under test (Redis, an instance given no clients): reported, not counted as others'. */
  systemPids: number[];
  store: string;
  clients: number;
  /** At most this many CONNECTs unanswered at once, over all the generator's processes. */
  inFlight: number;
  processes: number;
}

/**
 * Issue 31: `clients` clean-session MQTT 3.1.1 clients over TCP, distinct ids, connected as fast as the brokers
 * answer with at most `inFlight` CONNECTs waiting at a time (bench/load.ts, role connect). Connects per second from
 * the first CONNECT to the last CONNACK; CONNECT to CONNACK per client; the brokers' and Redis's CPU from /proc
 * between "go" and the last report; the generator's own CPU as it measured it. Flagged like the other scenarios:
 * the generator above 70% of a core (all its processes together: then it may be what sets the pace), or others busy.
 */
async function connectStorm(c: ConnectCase): Promise<Row> {
  await sleep(1000); // let the previous case's connections close
  const n = Math.min(c.processes, c.clients);
  const gens = Array.from({ length: n }, (_, i) =>
    runLoad<ConnectResult>({ role: 'connect', urls: c.urls, count: Math.floor((c.clients + i) / n), inFlight: Math.max(1, Math.floor((c.inFlight + i) / n)) }),
  );
  try {
    await within(Promise.all(gens.map((g) => g.ready)), 60_000, 'starting the connect generator');
    const cpu = () => ({
      brokers: c.brokerPids.map((pid) => cpuSeconds(pid)),
      system: c.systemPids.map((pid) => cpuSeconds(pid)),
      gens: gens.map((g) => cpuSeconds(g.pid)),
      machine: machineCpuSeconds(),
      at: monoMs(),
    });
    const before = cpu();
    for (const g of gens) g.stop({ go: true });
    const results = await within(Promise.all(gens.map((g) => g.result)), 120_000, `connecting ${c.clients} clients`);
    const after = cpu();
    const f = connectFigures(results);
    const why = results.find((r) => r.error)?.error;
    if (f.connected < c.clients) throw new Error(`${c.label} accepted only ${f.connected} of ${c.clients} clients${why ? ` (${why})` : ''}`);
    if (after.brokers.some((v) => !Number.isFinite(v))) throw new Error(`${c.label} stopped during the run`);
    const window = (after.at - before.at) / 1000;
    const diff = (a: number[], b: number[]) => a.map((v, i) => v - b[i]!);
    const brokerCpu = diff(after.brokers, before.brokers);
    const systemCpu = diff(after.system, before.system);
    const genCpu = diff(after.gens, before.gens);
    const total = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const othersPct = (100 * (after.machine - before.machine - total(brokerCpu) - total(systemCpu) - total(genCpu))) / window;
    const loadBound = f.genCpuPct > LOAD_CPU_LIMIT_PCT;
    const busy = othersPct > OTHERS_CPU_LIMIT_PCT;
    const pcts = (values: number[]) => values.map((v) => round((100 * v) / window, 1)).join(' / ');
    return {
      scenario: 'cluster-connect',
      broker: c.label,
      transport: 'tcp',
      store: c.store,
      clients: c.clients,
      inFlight: c.inFlight,
      connectsPerSec: Math.round(f.connectsPerSec),
      connectWindowMs: round(f.windowMs, 1),
      // CONNECT to CONNACK (p99ms under this name, so the medians read it like the others').
      p50ms: round(f.p50ms, 2),
      p95ms: round(f.p95ms, 2),
      p99ms: round(f.p99ms, 2),
      maxMs: round(f.maxMs, 1),
      // The brokers that took the clients (each, in the order of urls), then Redis and any idle instance.
      brokerCpuPct: pcts(brokerCpu),
      systemCpuPct: c.systemPids.length ? pcts(systemCpu) : null,
      // Everything the system under test spent (brokers, Redis, the idle instance) per client connected.
      cpuPerConnectUs: round(((total(brokerCpu) + total(systemCpu)) * 1e6) / c.clients, 1),
      genCpuPct: round(f.genCpuPct, 1),
      genCpuMaxPct: round(f.genCpuMaxPct, 1),
      genProcesses: gens.length,
      othersCpuPct: round(othersPct, 1),
      loadBound,
      busy,
      flagged: loadBound || busy,
    };
  } finally {
    // Ending the generator closes every client (the kernel closes its sockets); then let the brokers see them go.
    for (const g of gens) g.kill();
    await sleep(2000);
  }
}

/** A case that could not finish is a row that says why, not the end of the whole run. */
function failedRow(scenario: string, broker: string, transport: string, error: Error): Row {
  console.log(`  ${scenario} ${broker} ${transport}: FAILED: ${error.message}`);
  return { scenario, broker, transport, error: error.message };
}

function flagNote(row: Row): string {
  const slow = typeof row.achievedRate === 'number' && typeof row.rate === 'number' && row.achievedRate < PACE_LIMIT * row.rate;
  const why = [slow && `the publisher kept only ${row.achievedRate} of ${row.rate} a second`, row.loadBound && !slow && `a load process above ${LOAD_CPU_LIMIT_PCT}% of a core`, row.busy && `other processes took ${row.othersCpuPct}% of a core`].filter(Boolean);
  return why.length ? ` (FLAGGED, left out of medians: ${why.join('; ')})` : '';
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

/**
 * Each case's median over its unflagged repeats, with the spread (min-max), and mqlive's ratio to Mosquitto's
 * median. A run flagged because a load process or another process was busy is left out of the medians; when
 * every run of a case is flagged, the median of the flagged runs is shown and marked so.
 */
function ratios(rows: Row[]): Row[] {
  const out: Row[] = [];
  const keys = ['lossPct', 'p99ms', 'cpuPerMsgUs', 'deliveredPerSec', 'rssEndMiB', 'kibPerConnection'];
  const cases = new Set(rows.filter((r) => r.broker.startsWith('mqlive') && !r.error).map((r) => `${r.broker}|${r.scenario}|${r.transport}`));
  for (const c of [...cases].sort()) {
    const [build, scenario, transport] = c.split('|');
    const mine = caseRuns(rows, build!, scenario!, transport!);
    const peer = caseRuns(rows, 'mosquitto', scenario!, transport!);
    const runsNote = (r: { clean: number; all: number }) => (r.clean > 0 ? `${r.clean} of ${r.all}` : `0 of ${r.all}: ALL FLAGGED`);
    const row: Row = { scenario: scenario!, broker: `median ${build} / mosquitto`, transport: transport!, cleanRuns: `${runsNote(mine)} / ${peer.all ? runsNote(peer) : '-'}` };
    for (const k of keys) {
      const a = spreadOf(mine.used, k);
      const b = spreadOf(peer.used, k);
      if (!a) continue;
      const spread = (m: { median: number; min: number; max: number }) => `${round(m.median, 2)} (${round(m.min, 2)}-${round(m.max, 2)})`;
      row[k] = b ? `${spread(a)} / ${spread(b)} = ${b.median ? round(a.median / b.median, 2) : '-'}x` : spread(a);
    }
    out.push(row);
  }
  return out;
}

/** The medians table as Markdown, for docs/performance.md: each cell is mqlive's median (spread) / Mosquitto's = ratio. */
function markdownSummary(medians: Row[], when: string): string {
  const columns: [string, string][] = [
    ['cleanRuns', 'unflagged runs (mqlive / Mosquitto)'],
    ['lossPct', 'loss %'],
    ['p99ms', 'p99 latency, ms'],
    ['cpuPerMsgUs', 'broker CPU per delivered message, µs'],
    ['deliveredPerSec', 'delivered / s'],
    ['rssEndMiB', 'broker RSS at the end, MiB'],
  ];
  const lines = [
    `Medians (min-max) of ${when}; mqlive / Mosquitto = ratio.`,
    '',
    `| scenario | broker | transport | ${columns.map(([, title]) => title).join(' | ')} |`,
    `|---|---|---|${columns.map(() => '---').join('|')}|`,
    ...medians.map((m) => `| ${m.scenario} | ${m.broker} | ${m.transport} | ${columns.map(([k]) => String(m[k] ?? '')).join(' | ')} |`),
  ];
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(`usage: npm run bench -- [options]   (or the BENCH_* variables)\n\noptions:\n${optionLines(OPTIONS)}`);
    return;
  }
  let o;
  try {
    o = parseOptions(OPTIONS, process.argv.slice(2), process.env);
  } catch (error) {
    console.error(`bench: ${(error as UsageError).message}`);
    process.exit(2);
  }
  const scenarios = (o.scenarios ?? 'fanout,saturate,fanout-v5,saturate-v5,retained-durable,viewer,idle,load200,cluster,cluster-connect').split(',');
  const transports = (o.transports ?? 'tcp,ws').split(',') as ('tcp' | 'ws')[];
  const against = o.against ?? 'mosquitto';
  const seconds = Number(o.seconds ?? 10);
  const warmup = Number(o.warmup ?? 2);
  const rate = Number(o.rate ?? 1000);
  const subscribers = Number(o.subscribers ?? 50);
  const repeats = Number(o.repeats ?? 3);
  const subProcesses = Math.max(1, Math.floor(Number(o.subProcesses ?? 5)));
  const viewers = Math.max(1, Number(o.viewers ?? 200));
  const connects = Math.max(1, Math.floor(Number(o.connects ?? 1000)));
  const connectBatch = Math.max(1, Math.floor(Number(o.connectBatch ?? 50)));
  if (o.profile) process.env.BENCH_PROFILE = o.profile; // read where the brokers are started (targets.ts)
  mkdirSync(RESULTS, { recursive: true });
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  console.log(`mqlive bench on ${machine}`);

  const rows: Row[] = [];
  const record = (row: Row) => {
    rows.push(row);
    appendFileSync(`${RESULTS}/results.jsonl`, JSON.stringify({ at: new Date().toISOString(), machine, ...row }) + '\n');
    if (!row.error) {
      const figures = Object.entries(row).filter(([k, v]) => v !== null && /p99ms|deliveredPerSec|cpuPerMsgUs|connectsPerSec|cpuPerConnectUs|genCpuPct|frameP95ms|mainBusyP50Pct|kibPerConnection|lossPct|sendIntervalP99ms|pubCpuPct|subCpuMaxPct|othersCpuPct|brokerCpuPct|systemCpuPct|loadCpuTotalPct/.test(k));
      console.log(`  ${row.scenario} ${row.broker} ${row.transport}: ${figures.map(([k, v]) => `${k} ${v}`).join(', ')}${flagNote(row)}`);
    }
  };
  // Which brokers run which scenarios. mqlive runs in memory (--data-dir none), as every figure before issue 28;
  // mqlive-store is the same build with its durable store on, in a fresh temp data folder per start.
  // retained-durable compares them with Mosquitto with `persistence true`; every other case, with it in memory.
  const everything = () => true;
  // `instance`: how the cluster scenarios start this build with more arguments (--redis, --id), mqlive's builds only.
  const before = o.baseline ? mqliveBaseline(o.baseline) : null;
  const starters: { name: string; start: () => Promise<Target>; runs: (scenario: string) => boolean; instance?: (args: string[]) => Promise<Target> }[] = [
    { name: 'mqlive', start: () => startMqlive(), runs: everything, instance: startMqlive },
    { name: 'mqlive-store', start: startMqliveStored, runs: (s: string) => STORE_SCENARIOS.has(s) },
    ...(before ? [{ name: 'mqlive-before', start: () => before(), runs: everything, instance: before }] : []),
    ...(against === 'mosquitto'
      ? [
          { name: 'mosquitto', start: () => startMosquittoTarget(), runs: (s: string) => s !== 'retained-durable' },
          { name: 'mosquitto (persistence true)', start: () => startMosquittoTarget({ persistence: true }), runs: (s: string) => s === 'retained-durable' },
        ]
      : []),
  ].filter((s) => scenarios.some(s.runs));
  for (let r = 0; r < repeats; r++) {
    const order = r % 2 === 0 ? starters : [...starters].reverse();
    for (const { name, start, runs, instance } of order) {
      const target = await start().catch((error: Error) => {
        // A broker that does not start is a row saying why; the other brokers and repeats carry on.
        record(failedRow(scenarios.join(','), name, '-', error));
        return null;
      });
      if (!target) continue;
      try {
        for (const scenario of scenarios.filter(runs)) {
          const cases: FanoutCase[] = [];
          // fanout-v5 and saturate-v5: the same load, every client connecting with MQTT 5.
          const protocolVersion: ProtocolVersion = scenario.endsWith('-v5') ? 5 : 4;
          const kind = scenario.replace(/-v5$/, '');
          const common = { scenario, seconds, warmup, clickRate: 0, subProcesses, protocolVersion };
          if (kind === 'fanout') for (const t of transports) cases.push({ ...common, transport: t, subscribers, rate });
          if (kind === 'saturate') for (const t of transports) cases.push({ ...common, transport: t, subscribers: 1, rate: 0 });
          if (scenario === 'load200') cases.push({ ...common, transport: 'ws', subscribers: viewers, rate: 1000, clickRate: 10 });
          if (scenario === 'soak') cases.push({ ...common, transport: 'ws', subscribers: viewers, rate: 1000, seconds: Number(o.minutes ?? 10) * 60, clickRate: 10, sampleEverySeconds: 60 });
          for (const c of cases) {
            record(await fanout(target, c).catch((error: Error) => failedRow(c.scenario, target.name, c.transport, error)));
          }
          if (scenario === 'cluster' && instance) {
            // Two instances on one Redis: publisher on A, subscribers on B; and one instance on Redis alone.
            await withCluster(instance, async (redis, a, b) => {
              const base = { scenario, transport: 'tcp' as const, subscribers, rate, seconds, warmup, clickRate: 0, subProcesses, protocolVersion: 4 as const, systemPids: [a.pid, redis.process.child.pid!], store: 'redis' };
              for (const c of [
                { ...base, label: `${name} A→B via Redis`, pubUrl: a.tcpUrl },
                { ...base, label: `${name} one instance on Redis` },
                { ...base, scenario: 'cluster-saturate', rate: 0, subscribers: 1, label: `${name} A→B via Redis`, pubUrl: a.tcpUrl },
                { ...base, scenario: 'cluster-saturate', rate: 0, subscribers: 1, label: `${name} one instance on Redis` },
              ]) {
                record(await fanout(b, c).catch((error: Error) => failedRow(c.scenario, c.label, 'tcp', error)));
              }
            });
          }
          if (scenario === 'cluster-connect') {
            // Issue 31: every broker alone (mqlive without Redis, Mosquitto) as the reference; then, for mqlive's
            // builds, the same clients spread over two instances on one Redis, and all of them to one of the two.
            const common = { clients: connects, inFlight: connectBatch, processes: CONNECT_PROCESSES };
            const alone = { ...common, label: name, urls: [target.tcpUrl], brokerPids: [target.pid], systemPids: [], store: target.store };
            record(await connectStorm(alone).catch((error: Error) => failedRow(scenario, alone.label, 'tcp', error)));
            if (instance) {
              await withCluster(instance, async (redis, a, b) => {
                const redisPid = redis.process.child.pid!;
                const spread = { ...common, label: `${name} two instances on Redis`, urls: [a.tcpUrl, b.tcpUrl], brokerPids: [a.pid, b.pid], systemPids: [redisPid], store: 'redis' };
                // The other instance stays up (it hears of every new client over Redis): its CPU is counted with Redis's.
                const one = { ...common, label: `${name} one instance on Redis`, urls: [a.tcpUrl], brokerPids: [a.pid], systemPids: [redisPid, b.pid], store: 'redis' };
                // Which goes first alternates with the repeat, as the brokers' order does.
                for (const c of r % 2 === 0 ? [spread, one] : [one, spread]) {
                  record(await connectStorm(c).catch((error: Error) => failedRow(scenario, c.label, 'tcp', error)));
                }
              });
            }
          }
          if (scenario === 'retained-durable') {
            const c = { rate, topics: RETAINED_TOPICS, seconds, warmup };
            record(await retainedDurable(target, c).catch((error: Error) => failedRow(scenario, target.name, 'tcp', error)));
          }
          if (scenario === 'idle') {
            for (const t of transports) {
              // A fresh broker of the same kind: what earlier scenarios left in its heap would blur the figure.
              const row = await start()
                .then((fresh) => idle(fresh, t, Number(o.idle ?? 2000)).finally(() => fresh.stop()))
                .catch((error: Error) => failedRow('idle', target.name, t, error));
              record(row);
            }
          }
          if ((scenario === 'viewer' || scenario === 'viewer-all') && target.name === 'mqlive') {
            const everything = scenario === 'viewer-all';
            record(await runViewerBench(target, { rate, seconds, warmup, everything }).then((row) => ({ ...row, store: target.store }), (error: Error) => failedRow(scenario, target.name, 'ws', error)));
          }
        }
      } finally {
        await target.stop().catch((error: Error) => console.log(`  stopping ${target.name}: ${error.message}`));
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
  const goals = goalsTable(rows);
  if (goals.length > 0) console.log(`\nIssue 20's goals (and issue 27's MQTT 5 rows) on this run:\n${goals.join('\n')}`);
  const storeGoals = storeGoalsTable(rows);
  if (storeGoals.length > 0) console.log(`\nIssue 28's goal, the store on against --data-dir none:\n${storeGoals.join('\n')}`);
  const retained = retainedTable(rows);
  if (retained.length > 0) console.log(`\nIssue 28's retained-durable case (p50/p99: publish to PUBACK):\n${retained.join('\n')}`);
  const connecting = connectTable(rows);
  if (connecting.length > 0) console.log(`\nIssue 31's cluster-connect case (${connects} clients; p50/p99: CONNECT to CONNACK):\n${connecting.join('\n')}`);
  writeFileSync(`${RESULTS}/latency.svg`, latencyChart(rows, machine));
  const when = `${new Date().toISOString().slice(0, 16)} UTC, ${machine}, ${repeats} repeats`;
  const section = (title: string, lines: string[]) => (lines.length > 0 ? `\n${title} (${when}):\n\n${lines.join('\n')}\n` : '');
  writeFileSync(`${RESULTS}/summary.md`, markdownSummary(r, when) + section('Goals', goals) + section('Store on against --data-dir none', storeGoals) + section('retained-durable', retained) + section('cluster-connect', connecting));
  console.log(`\nResults appended to bench/results/results.jsonl; chart in bench/results/latency.svg; medians as Markdown in bench/results/summary.md`);
}

await main();

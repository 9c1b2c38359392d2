/**
 * Which embedded database backs the durable store (issue 28)? The same measurements for each candidate, side by
 * side in one run, each in a fresh temp folder that is removed afterwards:
 *   1. paced durable writes as the broker does them: 1,000 updates a second of ~200 B to 1,000 keys, each update
 *      requested in its own timer callback, all updates requested in one event-loop turn written as one batch
 *      with one sync (at most one batch in flight; what arrives meanwhile goes in the next batch);
 *   2. throughput ceiling: durable batches of 1 and of 100 back to back for 3 s;
 *   3. start-up: 10,000 retained-like records and 1,000 sessions (1 session, 3 subscriptions, 5 queued messages
 *      each), then open + read every key/value into memory, median of 3;
 *   4. growth: 1,000 keys overwritten 100 times, files' size before, after, and after the library's compaction;
 *   5. kill -9: a child writes durably and prints each ack, is SIGKILLed at a random moment, the store is reopened
 *      and every acked write (puts and deletes) must be there; 20 kills.
 *
 * The candidates are not dependencies of mqlive; install them without saving, then run:
 *   npm install --no-save better-sqlite3@12 lmdb@3 classic-level@3
 *   node --import tsx bench/store-choice.ts [--seconds N] [--kills N] [--only sqlite,lmdb,lmdb-nooverlap,level]
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

type Op = { key: string; value: Buffer | null }; // value null: delete

/** The interface the durable store is written on. */
interface KvStore {
  load(): Promise<Map<string, Buffer>>;
  /** Resolves once every op is on disk with the library's durable setting. */
  apply(ops: Op[]): Promise<void>;
  /** Compacts (or makes a compacted copy); says how, and which path to measure afterwards. */
  compact(): Promise<{ how: string; measure: string }>;
  close(): Promise<void>;
}

interface Candidate {
  name: string;
  pkg: string;
  open(dir: string): Promise<KvStore>;
}

const INSTALL = 'npm install --no-save better-sqlite3@12 lmdb@3 classic-level@3';

/* eslint-disable @typescript-eslint/no-explicit-any -- the candidates are optional and untyped here */
async function importOptional(pkg: string): Promise<any | null> {
  const specifier: string = pkg; // a variable, so that tsc does not need the package to be installed
  try {
    return await import(specifier);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

function sqliteCandidate(mod: any): Candidate {
  const Database = mod.default;
  return {
    name: 'sqlite',
    pkg: 'better-sqlite3',
    async open(dir) {
      const db = new Database(path.join(dir, 'store.sqlite'));
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL'); // WAL synced on every commit
      db.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
      const put = db.prepare('INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v');
      const del = db.prepare('DELETE FROM kv WHERE k = ?');
      const all = db.prepare('SELECT k, v FROM kv').raw();
      const write = db.transaction((ops: Op[]) => {
        for (const op of ops) {
          if (op.value) put.run(op.key, op.value);
          else del.run(op.key);
        }
      });
      return {
        async load() {
          const map = new Map<string, Buffer>();
          for (const [k, v] of all.all() as [string, Buffer][]) map.set(k, v);
          return map;
        },
        async apply(ops) {
          write(ops); // synchronous: the commit (and its fsync) blocks the event loop
        },
        async compact() {
          db.pragma('wal_checkpoint(TRUNCATE)');
          db.exec('VACUUM');
          db.pragma('wal_checkpoint(TRUNCATE)');
          return { how: 'wal_checkpoint(TRUNCATE) + VACUUM', measure: dir };
        },
        async close() {
          db.close();
        },
      };
    },
  };
}

/**
 * overlapping: lmdb-js's default except on Windows (overlappingSync): a transaction is committed, then synced to
 * disk after the write lock is released; the write's promise resolves at commit and its .flushed (separateFlushed)
 * once synced, which is when we ack. Without it (overlappingSync: false) the commit itself syncs. Either way a crash
 * of the machine reopens at the last synced transaction; noSync (never sync) is not durable and not measured.
 */
function lmdbCandidate(mod: any, overlapping: boolean): Candidate {
  return {
    name: overlapping ? 'lmdb' : 'lmdb-nooverlap',
    pkg: 'lmdb',
    async open(dir) {
      const db = mod.open({ path: dir, encoding: 'binary', separateFlushed: true, overlappingSync: overlapping });
      return {
        async load() {
          const map = new Map<string, Buffer>();
          for (const { key, value } of db.getRange()) map.set(key as string, value as Buffer);
          return map;
        },
        async apply(ops) {
          const committed = db.batch(() => {
            for (const op of ops) {
              if (op.value) db.put(op.key, op.value);
              else db.remove(op.key);
            }
          });
          await committed;
          await (committed.flushed ?? committed);
        },
        async compact() {
          // LMDB reuses freed pages in place; its only compaction is a compacted copy (mdb_env_copy2 with
          // MDB_CP_COMPACT), which a store would have to swap in while closed.
          const copy = `${dir}-compacted`;
          fs.mkdirSync(copy, { recursive: true });
          await db.backup(copy, true);
          return { how: 'compacted copy: db.backup(path, true)', measure: copy };
        },
        async close() {
          await db.close();
        },
      };
    },
  };
}

function levelCandidate(mod: any): Candidate {
  return {
    name: 'level',
    pkg: 'classic-level',
    async open(dir) {
      const db = new mod.ClassicLevel(dir, { keyEncoding: 'utf8', valueEncoding: 'buffer' });
      await db.open();
      return {
        async load() {
          const map = new Map<string, Buffer>();
          const entries = (await db.iterator({ highWaterMarkBytes: 1 << 20 }).all()) as [string, Buffer][];
          for (const [k, v] of entries) map.set(k, v);
          return map;
        },
        async apply(ops) {
          await db.batch(
            ops.map((op) => (op.value ? { type: 'put', key: op.key, value: op.value } : { type: 'del', key: op.key })),
            { sync: true },
          );
        },
        async compact() {
          await db.compactRange('\u0000', '\uffff');
          return { how: 'compactRange over all keys', measure: dir };
        },
        async close() {
          await db.close();
        },
      };
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/* eslint-disable @typescript-eslint/no-explicit-any */
const MAKERS: Record<string, [string, (mod: any) => Candidate]> = {
  sqlite: ['better-sqlite3', sqliteCandidate],
  lmdb: ['lmdb', (mod) => lmdbCandidate(mod, true)],
  'lmdb-nooverlap': ['lmdb', (mod) => lmdbCandidate(mod, false)],
  level: ['classic-level', levelCandidate],
};
/* eslint-enable @typescript-eslint/no-explicit-any */

async function loadCandidates(only: string[] | null): Promise<Candidate[]> {
  const found: Candidate[] = [];
  for (const [name, [pkg, make]] of Object.entries(MAKERS)) {
    if (only && !only.includes(name)) continue;
    const mod = await importOptional(pkg);
    if (!mod) {
      console.log(`skipping ${name}: ${pkg} is not installed (${INSTALL})`);
      continue;
    }
    found.push(make(mod));
  }
  return found;
}

/** Groups every write requested in one event-loop turn into one batch; at most one batch in flight (in order). */
class TurnBatcher {
  batches = 0;
  private pending: { ops: Op[]; done: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private inFlight: Promise<void> = Promise.resolve();
  private flushQueued = false;

  constructor(private readonly store: KvStore) {}

  write(op: Op): Promise<void> {
    if (!this.pending) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.pending = { ops: [], done, resolve, reject };
    }
    this.pending.ops.push(op);
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => this.flush());
    }
    return this.pending.done;
  }

  private flush(): void {
    this.flushQueued = false;
    // Wait for the batch in flight: a later batch must never be committed before an earlier one.
    this.inFlight = this.inFlight.then(async () => {
      const batch = this.pending;
      if (!batch) return;
      this.pending = null;
      this.batches++;
      await this.store.apply(batch.ops).then(batch.resolve, batch.reject);
    });
  }
}

// ---------- helpers ----------

const VALUE_BYTES = 200;
function valueFor(key: string, seq: number | string): Buffer {
  const head = `${key}|${seq}|`;
  return Buffer.from(head.padEnd(VALUE_BYTES, 'x'), 'latin1');
}
function seqOf(value: Buffer): number {
  return Number(value.toString('latin1').split('|')[1]);
}

function pct(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function sizeOf(target: string): number {
  if (!fs.existsSync(target)) return 0;
  const st = fs.statSync(target);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of fs.readdirSync(target)) total += sizeOf(path.join(target, name));
  return total;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

// ---------- 1. paced durable writes ----------

interface PacedResult {
  p50: number;
  p99: number;
  max: number;
  batchesPerSecond: number;
  cpuMicrosPerUpdate: number;
  requestedPerSecond: number;
  worstSecond: number;
  timerLagP99: number;
  valid: boolean;
}

async function pacedWrites(store: KvStore, seconds: number): Promise<PacedResult> {
  const total = seconds * 1000;
  const batcher = new TurnBatcher(store);
  const requestedAt = new Float64Array(total);
  const latency = new Float64Array(total).fill(NaN);
  const lag = new Float64Array(total);
  const acks: Promise<void>[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now() + 20;
  let scheduled = 0;

  const fire = (i: number) => {
    const now = performance.now();
    requestedAt[i] = now;
    lag[i] = now - (t0 + i);
    const key = `retain/dev${i % 1000}/status`;
    acks.push(batcher.write({ key, value: valueFor(key, i) }).then(() => void (latency[i] = performance.now() - now)));
  };
  // Each update gets its own timer, due at t0 + i ms; timers are laid 200 ms ahead so few are pending at once.
  await new Promise<void>((resolve) => {
    const layAhead = () => {
      const horizon = performance.now() - t0 + 200;
      while (scheduled < total && scheduled <= horizon) {
        const i = scheduled++;
        setTimeout(() => fire(i), Math.max(0, t0 + i - performance.now()));
      }
      if (scheduled < total) setTimeout(layAhead, 50);
      else setTimeout(resolve, Math.max(0, t0 + total - performance.now()) + 5);
    };
    layAhead();
  });
  // All timers have fired by now or will shortly; wait (bounded) for every ack.
  const deadline = performance.now() + 30_000;
  while (acks.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  await withTimeout(Promise.all(acks), 30_000, 'paced writes');
  const elapsed = performance.now() - t0;
  const cpu = cpuMicros(cpu0);

  const sorted = Float64Array.from(latency).sort();
  const perSecond = new Array<number>(seconds).fill(0);
  let inWindow = 0;
  for (const t of requestedAt) {
    const s = Math.floor((t - t0) / 1000);
    if (s >= 0 && s < seconds) {
      perSecond[s]!++;
      inWindow++;
    }
  }
  const requestedPerSecond = inWindow / seconds;
  return {
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    max: sorted[sorted.length - 1]!,
    batchesPerSecond: batcher.batches / (elapsed / 1000),
    cpuMicrosPerUpdate: cpu / total,
    requestedPerSecond,
    worstSecond: Math.min(...perSecond),
    timerLagP99: pct(Float64Array.from(lag).sort(), 99),
    valid: requestedPerSecond >= 950,
  };
}

// ---------- 2. throughput ceiling ----------

async function ceiling(store: KvStore, batchSize: number, ms = 3000): Promise<number> {
  const end = performance.now() + ms;
  let updates = 0;
  for (let n = 0; n < 1_000_000 && performance.now() < end; n++) {
    const ops: Op[] = [];
    for (let j = 0; j < batchSize; j++) {
      const key = `retain/dev${(updates + j) % 1000}/status`;
      ops.push({ key, value: valueFor(key, updates + j) });
    }
    await store.apply(ops);
    updates += batchSize;
  }
  return updates / (ms / 1000);
}

// ---------- 3. start-up ----------

function startupRecords(): Op[] {
  const ops: Op[] = [];
  const put = (key: string) => ops.push({ key, value: valueFor(key, 0) });
  for (let i = 0; i < 10_000; i++) put(`retained/sensors/${i}/reading`);
  for (let s = 0; s < 1_000; s++) {
    put(`session/client-${s}`);
    for (let j = 0; j < 3; j++) put(`sub/client-${s}/devices/+/topic-${j}`);
    for (let j = 0; j < 5; j++) put(`queue/client-${s}/${String(j).padStart(8, '0')}`);
  }
  return ops;
}

async function startup(candidate: Candidate, dir: string): Promise<{ medianMs: number; runs: number[]; records: number }> {
  const records = startupRecords();
  const store = await candidate.open(dir);
  for (let i = 0; i < records.length; i += 1000) await store.apply(records.slice(i, i + 1000));
  await store.close();
  const runs: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const reopened = await candidate.open(dir);
    const map = await reopened.load();
    runs.push(performance.now() - t);
    // Checked after the clock stops: every record there, each value its own (not a reused buffer).
    if (map.size !== records.length) throw new Error(`start-up: read ${map.size} records, wrote ${records.length}`);
    for (const [k, v] of map) {
      if (!v.toString('latin1').startsWith(`${k}|`)) throw new Error(`start-up: value of ${k} is not its own`);
    }
    await reopened.close();
  }
  return { medianMs: median(runs), runs, records: records.length };
}

// ---------- 4. growth ----------

async function growth(candidate: Candidate, dir: string) {
  const store = await candidate.open(dir);
  const round = async (r: number) => {
    for (let b = 0; b < 10; b++) {
      const ops: Op[] = [];
      for (let j = 0; j < 100; j++) {
        const key = `retain/dev${b * 100 + j}/status`;
        ops.push({ key, value: valueFor(key, r) });
      }
      await store.apply(ops);
    }
  };
  await round(0);
  const before = sizeOf(dir);
  for (let r = 1; r <= 100; r++) await round(r); // 100 x 1,000 overwrites, in batches of 100
  const after = sizeOf(dir);
  const { how, measure } = await store.compact();
  const compacted = sizeOf(measure);
  const map = await store.load();
  await store.close();
  if (map.size !== 1000 || [...map.values()].some((v) => seqOf(v) !== 100)) throw new Error('growth: wrong contents');
  return { before, after, compacted, how };
}

// ---------- 5. kill -9 ----------

const QUEUE_WINDOW = 100; // update i puts q/i and deletes q/(i - 100), like a queue drained behind its head

function killOps(run: number, i: number): Op[] {
  const r = `r/${i % 50}`;
  const ops: Op[] = [
    { key: r, value: valueFor(r, `${run}:${i}`) },
    { key: `q/${run}/${i}`, value: valueFor(`q/${run}/${i}`, i) },
  ];
  if (i >= QUEUE_WINDOW) ops.push({ key: `q/${run}/${i - QUEUE_WINDOW}`, value: null });
  return ops;
}

/** Child: write as the broker would, print `ack FROM TO` once updates FROM..TO are durable. */
async function child(candidate: Candidate, dir: string, run: number): Promise<void> {
  const store = await candidate.open(dir);
  const batcher = new TurnBatcher(store);
  let next = 0;
  let acked = 0;
  const end = performance.now() + 10_000;
  const tick = () => {
    if (performance.now() > end || next >= 200_000) return; // bounded; the parent kills long before
    for (let j = 0; j < 20 && next - acked < 2000; j++) {
      const i = next++;
      const ops = killOps(run, i);
      let last: Promise<void> = Promise.resolve();
      for (const op of ops) last = batcher.write(op);
      last.then(() => {
        acked++;
        process.stdout.write(`ack ${i}\n`); // stdout to a pipe is synchronous on Linux: printed means sent
      }, (error) => {
        process.stderr.write(`write failed: ${String(error)}\n`);
        process.exit(2);
      });
    }
    setImmediate(tick);
  };
  process.stdout.write('ready\n');
  tick();
}

async function killTest(candidate: Candidate, dir: string, kills: number): Promise<{ pass: boolean; detail: string; acked: number }> {
  const script = fileURLToPath(import.meta.url);
  let totalAcked = 0;
  for (let run = 0; run < kills; run++) {
    const proc = spawn(process.execPath, [...process.execArgv, script, '--child', candidate.name, dir, String(run)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const acked = new Set<number>();
    let maxAcked = -1;
    let killTimer: NodeJS.Timeout | undefined;
    const hardStop = setTimeout(() => proc.kill('SIGKILL'), 20_000); // bounded even if no ack ever comes
    const lines = readline.createInterface({ input: proc.stdout });
    lines.on('line', (line) => {
      const m = /^ack (\d+)$/.exec(line);
      if (!m) return;
      acked.add(Number(m[1]));
      maxAcked = Math.max(maxAcked, Number(m[1]));
      killTimer ??= setTimeout(() => proc.kill('SIGKILL'), 50 + Math.random() * 450);
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => proc.on('close', (c, s) => resolve([c, s])));
    clearTimeout(hardStop);
    clearTimeout(killTimer);
    if (signal !== 'SIGKILL') return { pass: false, detail: `run ${run}: child ended ${code ?? signal}: ${stderr.trim()}`, acked: totalAcked };
    if (acked.size === 0) return { pass: false, detail: `run ${run}: no ack before the kill`, acked: totalAcked };
    totalAcked += acked.size;

    const store = await candidate.open(dir);
    const map = await store.load();
    await store.close();
    const problem = checkAfterKill(map, run, acked, maxAcked);
    if (problem) return { pass: false, detail: `run ${run}: ${problem}`, acked: totalAcked };
  }
  return { pass: true, detail: `${kills} kills, ${totalAcked} acked updates, all there, each store an in-order prefix`, acked: totalAcked };
}

/**
 * The store must hold exactly the state after updates 0..P for some P >= the last acked update: nothing acked is
 * lost, no acked delete undone, and what was committed without its ack came in order and whole.
 */
function checkAfterKill(map: Map<string, Buffer>, run: number, acked: Set<number>, maxAcked: number): string | null {
  for (let i = 0; i <= maxAcked; i++) if (!acked.has(i)) return `update ${i} not acked though ${maxAcked} was (acks out of order)`;
  let last = -1; // P: the newest update in the store (its queue entry is never deleted by a newer one)
  const prefix = `q/${run}/`;
  for (const key of map.keys()) if (key.startsWith(prefix)) last = Math.max(last, Number(key.slice(prefix.length)));
  if (last < maxAcked) return `acked up to update ${maxAcked}, the store holds up to ${last}`;
  for (let i = 0; i <= last; i++) {
    const present = map.has(`${prefix}${i}`);
    if (present !== i > last - QUEUE_WINDOW) return `${prefix}${i} ${present ? 'present' : 'missing'} in the state after update ${last}`;
  }
  for (let k = 0; k < 50 && k <= last; k++) {
    const newest = last - ((((last - k) % 50) + 50) % 50);
    const holds = map.get(`r/${k}`)?.toString('latin1').split('|')[1];
    if (holds !== `${run}:${newest}`) return `r/${k} holds ${holds}, not ${run}:${newest} (state after update ${last})`;
  }
  return null;
}

// ---------- main ----------

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function fsyncProbe(root: string): number {
  const file = path.join(root, 'fsync-probe');
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    fs.writeSync(fd, buf, 0, buf.length, (i % 16) * 4096);
    const t = performance.now();
    fs.fdatasyncSync(fd);
    times.push(performance.now() - t);
  }
  fs.closeSync(fd);
  fs.rmSync(file);
  return median(times);
}

interface Row {
  name: string;
  paced?: PacedResult;
  ceiling1?: number;
  ceiling100?: number;
  startup?: { medianMs: number; runs: number[]; records: number };
  growth?: { before: number; after: number; compacted: number; how: string };
  kill?: { pass: boolean; detail: string; acked: number };
  error?: string;
}

/** The load generator and batcher alone (writes acked at once, nothing stored): the CPU and lag not due to a library. */
function noStore(): KvStore {
  return {
    load: async () => new Map(),
    apply: async () => {},
    compact: async () => ({ how: '-', measure: '' }),
    close: async () => {},
  };
}

async function measure(candidate: Candidate, root: string, seconds: number, kills: number): Promise<Row> {
  const row: Row = { name: candidate.name };
  const fresh = (what: string) => fs.mkdtempSync(path.join(root, `${candidate.name}-${what}-`));
  try {
    console.log(`${candidate.name}: paced writes, ${seconds} s`);
    let store = await candidate.open(fresh('paced'));
    row.paced = await pacedWrites(store, seconds);
    await store.close();
    console.log(`${candidate.name}: throughput ceiling`);
    store = await candidate.open(fresh('ceiling'));
    row.ceiling1 = await ceiling(store, 1);
    row.ceiling100 = await ceiling(store, 100);
    await store.close();
    console.log(`${candidate.name}: start-up`);
    row.startup = await startup(candidate, fresh('startup'));
    console.log(`${candidate.name}: growth`);
    row.growth = await growth(candidate, fresh('growth'));
    console.log(`${candidate.name}: kill -9 x ${kills}`);
    row.kill = await killTest(candidate, fresh('kill'), kills);
  } catch (error) {
    row.error = error instanceof Error ? error.message.split('\n')[0] : String(error);
    console.log(`${candidate.name}: failed: ${row.error}`);
  }
  return row;
}

function table(rows: Row[]): string {
  const f = (x: number | undefined, d = 2) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
  const kib = (b: number | undefined) => (b === undefined ? '-' : `${Math.round(b / 1024)}`);
  const lines: [string, (r: Row) => string][] = [
    ['ack latency p50 / p99 / max (ms)', (r) => (r.paced ? `${f(r.paced.p50)} / ${f(r.paced.p99)} / ${f(r.paced.max)}` : '-')],
    ['batches per second', (r) => f(r.paced?.batchesPerSecond, 0)],
    ['CPU per update (µs)', (r) => f(r.paced?.cpuMicrosPerUpdate, 1)],
    ['requested per second (worst second)', (r) => (r.paced ? `${f(r.paced.requestedPerSecond, 0)} (${r.paced.worstSecond})${r.paced.valid ? '' : ' INVALID'}` : '-')],
    ['timer lag p99 (ms)', (r) => f(r.paced?.timerLagP99)],
    ['ceiling, batches of 1 (updates/s)', (r) => f(r.ceiling1, 0)],
    ['ceiling, batches of 100 (updates/s)', (r) => f(r.ceiling100, 0)],
    ['start-up, 19,000 records (ms, median of 3)', (r) => (r.startup ? `${f(r.startup.medianMs, 0)} (${r.startup.runs.map((x) => x.toFixed(0)).join(', ')})` : '-')],
    ['size KiB: before / after 100k / compacted', (r) => (r.growth ? `${kib(r.growth.before)} / ${kib(r.growth.after)} / ${kib(r.growth.compacted)}` : '-')],
    ['kill -9 (acked writes all there)', (r) => (r.kill ? (r.kill.pass ? 'pass' : 'FAIL') : '-')],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  const colWidth = 24;
  const out = [`${''.padEnd(width)} | ${rows.map((r) => r.name.padEnd(colWidth)).join(' | ')}`];
  out.push(`${'-'.repeat(width)}-|-${rows.map(() => '-'.repeat(colWidth)).join('-|-')}`);
  for (const [label, cell] of lines) out.push(`${label.padEnd(width)} | ${rows.map((r) => cell(r).padEnd(colWidth)).join(' | ')}`);
  return out.join('\n');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    const [name, dir, run] = process.argv.slice(3);
    const [candidate] = await loadCandidates([name!]);
    if (!candidate) throw new Error(`child: ${name} is not installed`);
    await child(candidate, dir!, Number(run));
    return;
  }
  const seconds = Math.min(120, Math.max(1, Number(arg('--seconds') ?? 10)));
  const kills = Math.min(50, Math.max(1, Number(arg('--kills') ?? 20)));
  const only = arg('--only')?.split(',') ?? null;
  const candidates = await loadCandidates(only);
  if (candidates.length === 0) {
    console.log(`no candidate installed: ${INSTALL}`);
    return;
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mqlive-store-choice-'));
  try {
    const loadAtStart = os.loadavg().map((x) => x.toFixed(1)).join(' ');
    const fsyncMs = fsyncProbe(root);
    const machine = `${os.cpus().length} cores (nproc ${os.availableParallelism()}), node ${process.version}, ${os.platform()} ${os.release()}, ${new Date().toISOString()}, fdatasync of 4 KiB median ${fsyncMs.toFixed(3)} ms in ${os.tmpdir()}`;
    console.log(machine);
    const rows: Row[] = [];
    console.log(`no store (baseline): paced writes, ${seconds} s`);
    rows.push({ name: 'no store (baseline)', paced: await pacedWrites(noStore(), seconds) });
    for (const candidate of candidates) rows.push(await measure(candidate, root, seconds, kills));
    const load = os.loadavg().map((x) => x.toFixed(1)).join(' ');
    console.log(`\n${machine}\nload average at start ${loadAtStart}, at end ${load}\npaced load: 1,000 updates/s for ${seconds} s; ${kills} kills\n`);
    console.log(table(rows));
    for (const r of rows) {
      if (r.growth) console.log(`${r.name} compaction: ${r.growth.how}`);
      if (r.kill) console.log(`${r.name} kill -9: ${r.kill.detail}`);
      if (r.error) console.log(`${r.name} failed: ${r.error}`);
    }
    console.log(`\nJSON ${JSON.stringify({ machine, loadAtStart, loadAtEnd: load, seconds, kills, rows })}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

await main();

/**
 * The load tool, one process per role (and several subscriber processes) so that no load process is the limit
 * and none shares a CPU budget with the broker by accident. Run by bench/run.ts; reads its job as JSON from
 * argv, reports one JSON line on stdout.
 *   pub: publishes moves evenly paced, one per 1/rate s on the monotonic clock (or as fast as backpressure
 *        allows when rate is 0), and QoS 1 clicks at clickRate; reports the achieved inter-send intervals
 *   sub: opens `count` subscribers, records what arrives, reports when told to stop (a line on stdin)
 *   retained: publishes retained QoS 1 updates paced at `rate` over `topics` topics and times each one's PUBACK
 *   connect: when told to go (a line on stdin), connects `count` clean-session clients round the `urls`, at most
 *        `inFlight` CONNECTs unanswered at a time, and times each CONNECT to its CONNACK
 * Both speak MQTT 3.1.1 (protocolVersion 4) or MQTT 5, as the job says.
 */
import mqttPacket from 'mqtt-packet';
import { createInterface } from 'node:readline';
import { monoMs, percentile } from './clock';
import { afterProperties, encodePublishV5, openConnection, openTimedConnection, type LoadConnection, type ProtocolVersion } from './load-client';
// One allocation per PUBLISH, byte for byte mqtt-packet's (publish-encoding.test.ts): the publisher stays cheap.
import { encodePublish } from '../broker/publish-encoding';

export interface PubJob {
  role: 'pub';
  url: string;
  /** 4 (MQTT 3.1.1, the default) or 5. */
  protocolVersion?: ProtocolVersion;
  rate: number; // moves per second; 0 = as fast as backpressure allows
  warmupSeconds: number;
  seconds: number;
  clickRate: number;
}

export interface SubJob {
  role: 'sub';
  url: string;
  /** 4 (MQTT 3.1.1, the default) or 5. */
  protocolVersion?: ProtocolVersion;
  count: number;
  filter: string;
}

export interface RetainedJob {
  role: 'retained';
  url: string;
  rate: number; // updates per second
  topics: number;
  warmupSeconds: number;
  seconds: number;
}

export interface ConnectJob {
  role: 'connect';
  /** The brokers, taken in turn: client i goes to urls[i % urls.length]. */
  urls: string[];
  count: number;
  /** At most this many CONNECTs waiting for their CONNACK at once: the bounded batch. */
  inFlight: number;
}

export interface ConnectResult {
  connected: number;
  /** Why a client could not connect, when one could not. */
  error?: string;
  /** The first CONNECT sent and the last CONNACK received, on the shared monotonic clock (ms). */
  firstConnectAt: number;
  lastConnackAt: number;
  /** Each client's CONNECT to CONNACK, ms, sorted. */
  latencies: number[];
  /** When it was told to go (ms, monotonic), and its own CPU (user + system) from then to its last CONNACK, seconds. */
  startedAt: number;
  cpuSeconds: number;
}

export interface RetainedResult {
  measuredFrom: number;
  measuredTo: number;
  /** Updates sent inside the measured window, and how many of them were acknowledged by the end. */
  measuredSent: number;
  measuredAcked: number;
  /** Publish-to-PUBACK latency of the measured updates, ms. */
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
  /** Achieved time between two sends while measuring, ms. */
  intervalP50Ms: number;
  intervalP99Ms: number;
  /** A message id sent again while its first use was still unacknowledged (the broker 65,535 behind): latencies are then wrong. */
  idsReused: number;
}

export interface PubResult {
  sent: number;
  measuredFrom: number;
  measuredTo: number;
  firstMeasuredSeq: number;
  lastMeasuredSeq: number;
  clicks: number;
  /** Achieved time between two sends while measuring (paced runs only), ms. */
  intervalP50Ms: number;
  intervalP99Ms: number;
  intervalMaxMs: number;
}

export interface SubResult {
  received: number; // measured moves, all subscribers of this process
  duplicates: number;
  outOfOrder: number;
  inWindow: number; // moves received inside the measured window
  /** The latency sample's quantiles (LATENCY_POINTS evenly spaced ranks), so processes can be merged. */
  latencyPoints: number[];
  latencySamples: number;
  latencyMax: number;
  clicks: number[]; // distinct clicks each subscriber got
  connected: number;
}

const LATENCY_POINTS = 2001;
const MAX_SAMPLES = 1_000_000;
const MOVE_TOPIC = 'devices/bench/mouse/move';
const CLICK_TOPIC = 'devices/bench/mouse/click';
const LAST_BYTE_OF_CLICK = 0x6b; // 'k' ends .../click, 'e' .../move
const WARM_UP_KEY = 0x77; // 'w', as in {"w":1,
const SEQ_KEY = Buffer.from('"seq":');
const T_KEY = Buffer.from('"t":');

/** The number after `key` in a payload's bytes, written as the publisher writes it (digits, maybe a '.' and digits). */
function numberAfter(bytes: Buffer, key: Buffer, from: number): number {
  const at = bytes.indexOf(key, from);
  if (at < 0) return NaN;
  let i = at + key.length;
  let value = 0;
  for (; i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39; i++) value = value * 10 + bytes[i]! - 0x30;
  if (bytes[i] === 0x2e) {
    let scale = 0.1;
    for (i++; i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39; i++, scale /= 10) value += (bytes[i]! - 0x30) * scale;
  }
  return value;
}

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/** Blocks until the monotonic time `t` without spinning (a futex wait): sub-millisecond pacing at ~0 CPU. */
function sleepUntil(t: number): void {
  const ms = t - monoMs();
  if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

async function runPub(job: PubJob): Promise<PubResult> {
  const conn = await openConnection(job.url, `bench-pub-${process.pid}`, job.protocolVersion);
  const encode = (topic: string, payload: string, qos: 0 | 1, messageId?: number) =>
    job.protocolVersion === 5 ? encodePublishV5(topic, payload, qos, messageId) : encodePublish({ topic, payload, qos, messageId, retain: false, dup: false })!;
  conn.onPacket(() => {}); // PUBACKs for the clicks: nothing to do
  const start = monoMs();
  const measuredFrom = start + job.warmupSeconds * 1000;
  const end = measuredFrom + job.seconds * 1000;
  process.stdout.write(JSON.stringify({ ready: true, measuredFrom, measuredTo: end }) + '\n');
  let seq = 0;
  let clicks = 0;
  let firstMeasuredSeq = -1;
  let lastMeasuredSeq = -1;
  const publishMove = (t: number) => {
    if (t >= measuredFrom) {
      if (firstMeasuredSeq < 0) firstMeasuredSeq = seq;
      lastMeasuredSeq = seq;
    }
    // Warm-up moves say so ("w":1), so subscribers leave them out of every measure.
    const warm = t < measuredFrom ? '"w":1,' : '';
    const payload = `{${warm}"x":${seq % 1920},"y":${seq % 1080},"ts":${Date.now()},"seq":${seq},"t":${t.toFixed(3)}}`;
    conn.send(encode(MOVE_TOPIC, payload, 0));
    seq += 1;
  };
  const clickEvery = job.clickRate > 0 ? 1000 / job.clickRate : Infinity;
  let nextClick = start + clickEvery;
  const publishClick = () => {
    const payload = `{"x":1,"y":1,"button":"left","pressed":true,"ts":${Date.now()},"seq":${clicks}}`;
    conn.send(encode(CLICK_TOPIC, payload, 1, (clicks % 65535) + 1));
    clicks += 1;
    nextClick += clickEvery;
  };

  const intervals: number[] = [];
  if (job.rate > 0) {
    const every = 1000 / job.rate;
    let due = start;
    let lastSent = NaN;
    // Bounded: one send per iteration, and the schedule ends at `end`.
    for (let i = 0; i < job.rate * (job.warmupSeconds + job.seconds) + 1; i++) {
      await turn(); // socket I/O (PUBACKs, writes) between two sends
      if (due >= end) break;
      sleepUntil(due);
      const t = monoMs();
      publishMove(t);
      if (t >= measuredFrom && lastSent >= measuredFrom) intervals.push(t - lastSent);
      lastSent = t;
      if (t >= nextClick) publishClick();
      due += every;
    }
  } else {
    // As fast as backpressure allows: 100 moves per turn (one write), then wait while the transport is full.
    while (monoMs() < end) {
      for (let i = 0; i < 100; i++) publishMove(monoMs());
      if (monoMs() >= nextClick) publishClick();
      await turn();
      await conn.writable();
    }
  }
  await turn();
  await conn.writable();
  conn.close();
  intervals.sort((a, b) => a - b);
  return {
    sent: seq,
    measuredFrom,
    measuredTo: end,
    firstMeasuredSeq,
    lastMeasuredSeq,
    clicks,
    intervalP50Ms: percentile(intervals, 50),
    intervalP99Ms: percentile(intervals, 99),
    intervalMaxMs: intervals.at(-1) ?? NaN,
  };
}

/**
 * Retained QoS 1 updates, one per 1/rate s, round the topics (bench/retained/0 ... N-1), each timed from its send
 * to its PUBACK. Unlike runPub it waits on a timer, not a futex sleep: the event loop stays free to read each
 * PUBACK as it comes, where a blocking sleep would hold it up to one interval. When a timer fires late, every
 * update due by then goes at once, so the rate holds (the achieved intervals say how evenly).
 */
async function runRetained(job: RetainedJob): Promise<RetainedResult> {
  const conn = await openConnection(job.url, `bench-retained-${process.pid}`, 4);
  const sentAt = new Float64Array(65536).fill(NaN); // by message id: when it went, NaN when acknowledged
  const measured = new Uint8Array(65536);
  const latencies: number[] = [];
  let measuredAcked = 0;
  let idsReused = 0;
  conn.onPacket((header, body) => {
    if (header >> 4 !== 4) return; // PUBACK
    const now = monoMs();
    const id = body.readUInt16BE(0);
    const at = sentAt[id]!;
    if (Number.isNaN(at)) return;
    sentAt[id] = NaN;
    if (measured[id]) {
      latencies.push(now - at);
      measuredAcked += 1;
    }
  });
  const start = monoMs();
  const measuredFrom = start + job.warmupSeconds * 1000;
  const end = measuredFrom + job.seconds * 1000;
  process.stdout.write(JSON.stringify({ ready: true, measuredFrom, measuredTo: end }) + '\n');
  const every = 1000 / job.rate;
  let seq = 0;
  let measuredSent = 0;
  let due = start;
  let lastSent = NaN;
  const intervals: number[] = [];
  // Bounded: the schedule ends at `end`, and each pass sends at least the one update that was due.
  while (due < end) {
    const wait = due - monoMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let now = monoMs(); due <= now && due < end; due += every) {
      const t = monoMs();
      const id = (seq % 65535) + 1;
      if (!Number.isNaN(sentAt[id]!)) idsReused += 1;
      const inWindow = t >= measuredFrom;
      sentAt[id] = t;
      measured[id] = inWindow ? 1 : 0;
      if (inWindow) {
        measuredSent += 1;
        if (lastSent >= measuredFrom) intervals.push(t - lastSent);
      }
      lastSent = t;
      const payload = `{"value":${(seq * 7) % 1000},"ts":${Date.now()},"seq":${seq}}`;
      conn.send(encodePublish({ topic: `bench/retained/${seq % job.topics}`, payload, qos: 1, messageId: id, retain: true, dup: false })!);
      seq += 1;
    }
  }
  // The last PUBACKs: bounded wait, then what is still missing counts as unacknowledged.
  for (let i = 0; i < 100 && measuredAcked < measuredSent; i++) await new Promise((r) => setTimeout(r, 50));
  conn.close();
  latencies.sort((a, b) => a - b);
  intervals.sort((a, b) => a - b);
  return {
    measuredFrom,
    measuredTo: end,
    measuredSent,
    measuredAcked,
    ackP50Ms: percentile(latencies, 50),
    ackP99Ms: percentile(latencies, 99),
    ackMaxMs: latencies.at(-1) ?? NaN,
    intervalP50Ms: percentile(intervals, 50),
    intervalP99Ms: percentile(intervals, 99),
    idsReused,
  };
}

async function runSub(job: SubJob): Promise<void> {
  const connections: LoadConnection[] = [];
  const latencies = new Float64Array(MAX_SAMPLES);
  let samples = 0;
  let seenSamples = 0;
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const receipts: number[] = []; // receive times, for the saturate window (coarse: one entry per 64 messages)
  let receiptCounter = 0;
  const clickSets: Set<number>[] = [];
  const v5 = job.protocolVersion === 5;

  let failed = 0;
  let lastError = '';
  for (let i = 0; i < job.count; i++) {
    let conn: LoadConnection;
    try {
      conn = await openConnection(job.url, `bench-sub-${process.pid}-${i}`, job.protocolVersion);
      await subscribe(conn, job.filter, job.protocolVersion);
    } catch (error) {
      // A broker that refuses or stalls at some count: stop there and report how far it got, and why.
      lastError = (error as Error).message;
      failed += 1;
      if (failed >= 3) break;
      continue;
    }
    const clicks = new Set<number>();
    clickSets.push(clicks);
    let lastSeq = -1;
    conn.onPacket((header, body) => {
      if (header >> 4 !== 3) return;
      const now = monoMs();
      if (++receiptCounter % 64 === 0) receipts.push(now);
      // Read from the bytes, without decoding topic or payload: the load tool must stay cheap next to the broker.
      const topicEnd = 2 + body.readUInt16BE(0);
      const qos = (header >> 1) & 3;
      const afterId = topicEnd + (qos > 0 ? 2 : 0);
      const payloadAt = v5 ? afterProperties(body, afterId) : afterId;
      if (qos > 0) conn.send(Buffer.from([0x40, 2, body[topicEnd]!, body[topicEnd + 1]!])); // PUBACK
      if (body[topicEnd - 1] === LAST_BYTE_OF_CLICK) return void clicks.add(numberAfter(body, SEQ_KEY, payloadAt));
      if (body[payloadAt + 2] === WARM_UP_KEY) return; // {"w":1,...
      const seq = numberAfter(body, SEQ_KEY, payloadAt);
      const sent = numberAfter(body, T_KEY, payloadAt);
      // One publisher, one connection: moves must come in seq order. Constant memory, for long soaks.
      if (seq === lastSeq) duplicates += 1;
      else if (seq < lastSeq) outOfOrder += 1;
      lastSeq = Math.max(lastSeq, seq);
      received += 1;
      // Reservoir sampling keeps the latency sample unbiased once it is full.
      seenSamples += 1;
      if (samples < MAX_SAMPLES) latencies[samples++] = now - sent;
      else {
        const j = Math.floor(Math.random() * seenSamples);
        if (j < MAX_SAMPLES) latencies[j] = now - sent;
      }
    });
    connections.push(conn);
  }
  process.stdout.write(JSON.stringify({ ready: true, connected: connections.length, error: lastError || undefined }) + '\n');

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const stop = JSON.parse(line) as { from: number; to: number };
    const sorted = latencies.subarray(0, samples).sort();
    const points = Array.from({ length: LATENCY_POINTS }, (_, i) => (samples ? sorted[Math.min(samples - 1, Math.round((i / (LATENCY_POINTS - 1)) * (samples - 1)))]! : NaN));
    const result: SubResult = {
      received,
      duplicates,
      outOfOrder,
      inWindow: receipts.filter((t) => t >= stop.from && t < stop.to).length * 64,
      latencyPoints: points,
      latencySamples: samples,
      latencyMax: samples ? sorted[samples - 1]! : NaN,
      clicks: clickSets.map((s) => s.size),
      connected: connections.length,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    for (const c of connections) c.close();
    process.exit(0);
  }
}

/** SUBSCRIBE at QoS 1 and wait for a SUBACK that grants it. */
function subscribe(conn: LoadConnection, filter: string, protocolVersion: ProtocolVersion = 4): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no SUBACK in 20 s')), 20_000);
    conn.onPacket((header, body) => {
      if (header >> 4 !== 9) return;
      clearTimeout(timer);
      // After the message id: the granted QoS (3.1.1), or properties and then a reason code (MQTT 5); 0x80 and up refuse.
      const code = body[protocolVersion === 5 ? afterProperties(body, 2) : 2]!;
      if (code >= 0x80) reject(new Error(`subscription to ${filter} refused (${code})`));
      else resolve();
    });
    conn.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos: 1 }] }, { protocolVersion }));
  });
}

/**
 * Connects `count` clients (distinct ids, clean session, MQTT 3.1.1 over TCP) round the job's brokers, keeping at
 * most `inFlight` CONNECTs unanswered, and keeps them open until told to stop. Waits for a "go" line first, so
 * the bench can read every process's CPU just before the first CONNECT.
 */
async function runConnect(job: ConnectJob): Promise<void> {
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await lines.next();
  const connections: LoadConnection[] = [];
  const latencies: number[] = [];
  let firstConnectAt = Infinity;
  let lastConnackAt = -Infinity;
  let next = 0;
  let failed = 0;
  let lastError = '';
  const startedAt = monoMs();
  const cpuAtStart = process.cpuUsage();
  let cpuAtEnd = cpuAtStart;
  // Each worker connects one client after another: `inFlight` workers, so at most that many CONNECTs wait at once.
  const worker = async () => {
    for (let i = next++; i < job.count && failed < 3; i = next++) {
      try {
        const t = await openTimedConnection(job.urls[i % job.urls.length]!, `bench-connect-${process.pid}-${i}`, 4);
        connections.push(t.conn);
        latencies.push(t.connackAt - t.connectSentAt);
        firstConnectAt = Math.min(firstConnectAt, t.connectSentAt);
        if (t.connackAt > lastConnackAt) {
          lastConnackAt = t.connackAt;
          cpuAtEnd = process.cpuUsage();
        }
      } catch (error) {
        // A broker that refuses or stalls at some count: stop soon and report how far it got, and why.
        lastError = (error as Error).message;
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.inFlight, job.count)) }, worker));
  latencies.sort((a, b) => a - b);
  const cpu = process.cpuUsage(cpuAtStart);
  const cpuToEnd = cpuAtEnd === cpuAtStart ? cpu : { user: cpuAtEnd.user - cpuAtStart.user, system: cpuAtEnd.system - cpuAtStart.system };
  const result: ConnectResult = {
    connected: connections.length,
    error: lastError || undefined,
    firstConnectAt,
    lastConnackAt,
    latencies,
    startedAt,
    cpuSeconds: (cpuToEnd.user + cpuToEnd.system) / 1e6,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
  await lines.next(); // stop: close every connection by exiting
  process.exit(0);
}

const job = JSON.parse(process.argv[2]!) as PubJob | SubJob | RetainedJob | ConnectJob;
if (job.role === 'connect') {
  await runConnect(job);
} else if (job.role === 'pub' || job.role === 'retained') {
  const result = job.role === 'pub' ? await runPub(job) : await runRetained(job);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} else {
  await runSub(job);
}

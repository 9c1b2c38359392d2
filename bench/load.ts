/**
 * The load tool, one process per role so the broker, the publisher and the subscribers never share a CPU
 * budget by accident. Run by bench/run.ts; reads its job as JSON from argv, reports one JSON line on stdout.
 *   pub: publishes moves at a fixed rate (or as fast as backpressure allows) and clicks at clickRate
 *   sub: opens `count` subscribers, records what arrives, reports when told to stop (a line on stdin)
 */
import mqtt, { type MqttClient } from 'mqtt';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { monoMs, percentile } from './clock';

export interface PubJob {
  role: 'pub';
  url: string;
  rate: number; // moves per second; 0 = as fast as backpressure allows
  warmupSeconds: number;
  seconds: number;
  clickRate: number;
}

export interface SubJob {
  role: 'sub';
  url: string;
  count: number;
  filter: string;
}

export interface PubResult {
  sent: number;
  measuredFrom: number;
  measuredTo: number;
  firstMeasuredSeq: number;
  lastMeasuredSeq: number;
  clicks: number;
  /** CPU seconds this publisher used while measuring, so the run can tell other processes' load apart. */
  cpuSeconds: number;
}

export interface SubResult {
  received: number; // measured moves, all subscribers
  duplicates: number;
  outOfOrder: number;
  inWindow: number; // moves received inside the measured window, all subscribers
  latency: { p50: number; p95: number; p99: number; max: number };
  clicksMin: number; // distinct clicks the worst subscriber got
  clicksMax: number;
}

const MAX_SAMPLES = 2_000_000;

function connectClient(url: string, clientId?: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 20_000, keepalive: 60, clientId });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error(`connection to ${url} closed before CONNACK`)));
  });
}

async function runPub(job: PubJob): Promise<PubResult> {
  const client = await connectClient(job.url);
  const stream = client.stream as unknown as NodeJS.WritableStream & { writableNeedDrain: boolean };
  const start = monoMs();
  const measuredFrom = start + job.warmupSeconds * 1000;
  const end = measuredFrom + job.seconds * 1000;
  let seq = 0;
  let clicks = 0;
  let firstMeasuredSeq = -1;
  let cpuAtMeasure: NodeJS.CpuUsage | undefined;
  let lastMeasuredSeq = -1;
  const publishMove = () => {
    const t = monoMs();
    if (t >= measuredFrom && firstMeasuredSeq < 0) {
      firstMeasuredSeq = seq;
      cpuAtMeasure = process.cpuUsage();
    }
    if (t >= measuredFrom) lastMeasuredSeq = seq;
    // Warm-up moves say so ("w":1), so subscribers leave them out of every measure.
    const warm = t < measuredFrom ? '"w":1,' : '';
    const payload = `{${warm}"x":${seq % 1920},"y":${seq % 1080},"ts":${Date.now()},"seq":${seq},"t":${t.toFixed(3)}}`;
    client.publish('devices/bench/mouse/move', payload, { qos: 0 });
    seq += 1;
  };
  const clickEvery = job.clickRate > 0 ? 1000 / job.clickRate : Infinity;
  let nextClick = start + clickEvery;
  while (monoMs() < end) {
    const now = monoMs();
    if (job.rate > 0) {
      const due = Math.floor(((now - start) / 1000) * job.rate) - seq;
      for (let i = 0; i < due; i++) publishMove();
      if (now >= nextClick) {
        const payload = `{"x":1,"y":1,"button":"left","pressed":true,"ts":${Date.now()},"seq":${clicks}}`;
        client.publish('devices/bench/mouse/click', payload, { qos: 1 });
        clicks += 1;
        nextClick += clickEvery;
      }
      await new Promise((r) => setTimeout(r, 2));
    } else {
      for (let i = 0; i < 100; i++) publishMove();
      if (stream.writableNeedDrain) await once(stream, 'drain');
      else await new Promise((r) => setImmediate(r));
    }
  }
  const cpu = process.cpuUsage(cpuAtMeasure);
  await client.endAsync();
  return { sent: seq, measuredFrom, measuredTo: end, firstMeasuredSeq, lastMeasuredSeq, clicks, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function runSub(job: SubJob): Promise<void> {
  const clients: MqttClient[] = [];
  const latencies = new Float64Array(MAX_SAMPLES);
  let samples = 0;
  let seenSamples = 0;
  let received = 0;
  let duplicates = 0;
  let outOfOrder = 0;
  const receipts: number[] = []; // receive times, for the saturate window (coarse: one entry per 64 messages)
  let receiptCounter = 0;
  const clickSets: Set<number>[] = [];

  let failed = 0;
  for (let i = 0; i < job.count; i++) {
    let client: MqttClient;
    try {
      client = await connectClient(job.url);
    } catch {
      // A broker that refuses or stalls at some count: stop there and report how far it got.
      failed += 1;
      if (failed >= 3) break;
      continue;
    }
    const clicks = new Set<number>();
    clickSets.push(clicks);
    let lastSeq = -1;
    client.on('message', (topic, payload) => {
      const now = monoMs();
      if (++receiptCounter % 64 === 0) receipts.push(now);
      const text = payload.toString();
      const seq = Number(text.slice(text.indexOf('"seq":') + 6, text.indexOf(',', text.indexOf('"seq":'))));
      if (topic.endsWith('/click')) return void clicks.add(Number(text.slice(text.lastIndexOf(':') + 1, -1)));
      if (text.startsWith('{"w":1')) return;
      const sent = Number(text.slice(text.indexOf('"t":') + 4, -1));
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
    await client.subscribeAsync(job.filter, { qos: 1 });
    clients.push(client);
  }
  process.stdout.write(JSON.stringify({ ready: true, connected: clients.length }) + '\n');

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const stop = JSON.parse(line) as { from: number; to: number };
    const sorted = latencies.subarray(0, samples).sort();
    const inWindow = receipts.filter((t) => t >= stop.from && t < stop.to).length * 64;
    const clickCounts = clickSets.map((s) => s.size);
    const result: SubResult = {
      received,
      duplicates,
      outOfOrder,
      inWindow,
      latency: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN },
      clicksMin: Math.min(...clickCounts),
      clicksMax: Math.max(...clickCounts),
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    for (const c of clients) c.end(true);
    process.exit(0);
  }
}

const job = JSON.parse(process.argv[2]!) as PubJob | SubJob;
if (job.role === 'pub') {
  const result = await runPub(job);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} else {
  await runSub(job);
}

/**
 * Issue 31's "within 1 s": how long a CONNECT on instance B takes to close the connection with the same client id
 * on instance A, both on one redis-server. Build first (npm run build:dist).
 *
 *   node --import tsx bench/takeover.ts [ROUNDS] [--baseline path/to/older/dist/mqlive.js]
 *
 * Each round: a client connects to A with id takeover-N; another connects to B with that id; the time from B's
 * CONNECT being written to A's connection closing, and to B's CONNACK. With --baseline, the older build's two
 * instances run the same rounds in turn. The load generator's own CPU is printed: a round is thrown out when this
 * process took more than 70% of a core over it.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { performance } from 'node:perf_hooks';
import { brokerReady, spawnProcess } from '../test-support/processes';
import { startRedis } from '../test-support/redis';

const args = process.argv.slice(2);
const rounds = Math.min(500, Math.max(1, Number(args.find((a) => /^\d+$/.test(a)) ?? 100)));
const baseline = args.includes('--baseline') ? args[args.indexOf('--baseline') + 1] : undefined;
const ROUND_TIMEOUT_MS = 10_000;

async function instancesOn(entry: string, redisUrl: string, tag: string) {
  const start = (id: string) => spawnProcess(process.execPath, [entry, 'broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--redis', redisUrl, '--id', id]);
  const a = start(`${tag}-a`);
  const b = start(`${tag}-b`);
  const [readyA, readyB] = await Promise.all([brokerReady(a, 30_000), brokerReady(b, 30_000)]);
  return { a, b, urlA: readyA.mqtt, urlB: readyB.mqtt };
}

function connected(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, reconnectPeriod: 0, connectTimeout: ROUND_TIMEOUT_MS });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error(`${clientId}: closed before its CONNACK`)));
  });
}

const percentile = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function measure(label: string, urlA: string, urlB: string): Promise<void> {
  const closedAfter: number[] = [];
  const connackAfter: number[] = [];
  let thrownOut = 0;
  for (let n = 0; n < rounds; n++) {
    const id = `takeover-${label}-${n}`;
    const old = await connected(urlA, id);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const oldClosed = new Promise<number>((resolve) => old.once('close', () => resolve(performance.now())));
    const fresh = await connected(urlB, id);
    const connackAt = performance.now();
    const closedAt = await Promise.race([oldClosed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${label} round ${n}: A's connection still open after ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS))]);
    const wall = performance.now() - t0;
    const used = process.cpuUsage(cpu0);
    fresh.end(true);
    old.end(true);
    if ((used.user + used.system) / 1000 > 0.7 * wall) {
      thrownOut++;
      continue;
    }
    closedAfter.push(closedAt - t0);
    connackAfter.push(connackAt - t0);
  }
  const f = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
  console.log(`${label}: ${closedAfter.length} rounds (${thrownOut} thrown out: the generator was the limit)`);
  console.log(`  A's connection closed after B's CONNECT: ${f(closedAfter)}; over 1 s: ${closedAfter.filter((t) => t > 1000).length}`);
  console.log(`  B's CONNACK after its CONNECT:          ${f(connackAfter)}`);
}

const redis = await startRedis();
const builds: [string, string][] = [['mqlive', 'dist/mqlive.js'], ...(baseline ? ([['mqlive-before', baseline]] as [string, string][]) : [])];
console.log(`takeover across two instances on one Redis, ${rounds} rounds each (${new Date().toISOString().slice(0, 16)} UTC)`);
try {
  for (const [label, entry] of builds) {
    const { a, b, urlA, urlB } = await instancesOn(entry, redis.url, label);
    try {
      await measure(label, urlA, urlB);
    } finally {
      await Promise.all([a.stop('SIGTERM'), b.stop('SIGTERM')]);
    }
  }
} finally {
  await redis.stop();
}

/**
 * Fills a data folder the way users would (bench/startup.ts --store): a running broker, real MQTT.js clients over
 * TCP, each write acknowledged by the broker, then a clean stop. Nothing is written into the store's files directly,
 * so what is timed at start is what mqlive itself wrote.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import { connect, connectWithInbox } from '../test-support/mqtt';
import { brokerReady, spawnProcess } from '../test-support/processes';

export const FILL = { retained: 10_000, sessions: 1_000, subscriptionsPerSession: 2, queuedPerSession: 3 };

/**
 * The caps the filled store needs: 1,000 persistent sessions all come from 127.0.0.1 (one "user" for anonymous
 * clients, 5 sessions by default), and the filling publisher goes faster than the default 2,000 a second.
 * 10,000 retained messages is the default cap itself.
 */
export const STORE_BROKER_ARGS = ['--max-sessions-per-user', String(FILL.sessions), '--max-publish-rate', '10000000'];

const sessionId = (i: number) => `bench-session-${i}`;
const sessionTopic = (i: number, sub: number) => `bench/sessions/${i}/${sub}`;

function startFilling(dir: string) {
  return spawnProcess(process.execPath, ['dist/mqlive.js', 'broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--data-dir', dir, ...STORE_BROKER_ARGS]);
}

/** Runs `work` on 0..count-1, at most `parallel` at a time. */
async function inBatches(count: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < count; from += parallel) {
    await Promise.all(Array.from({ length: Math.min(parallel, count - from) }, (_, k) => work(from + k)));
  }
}

export async function fillStore(dir: string): Promise<{ ms: number }> {
  const t0 = performance.now();
  const broker = startFilling(dir);
  const { mqtt: url } = await brokerReady(broker, 30_000);
  let publisher: MqttClient | undefined;
  try {
    // The sessions: each subscribes (SUBACK once it is on disk) and goes away, leaving its session behind.
    await inBatches(FILL.sessions, 50, async (i) => {
      const client = await connect(url, { clientId: sessionId(i), clean: false, protocolVersion: 4 }, 20_000);
      await client.subscribeAsync(Array.from({ length: FILL.subscriptionsPerSession }, (_, s) => sessionTopic(i, s)), { qos: 1 });
      await client.endAsync();
    });
    publisher = await connect(url, { clientId: 'bench-filler', protocolVersion: 4 }, 20_000);
    const p = publisher;
    // Retained messages, each acknowledged (so on disk) before the stop.
    await inBatches(FILL.retained, 500, (i) => p.publishAsync(`bench/retained/${i}`, JSON.stringify({ value: i, unit: 'C', ts: Date.now() }), { qos: 1, retain: true }).then(() => {}));
    // Queued for the offline sessions, on their first subscription.
    await inBatches(FILL.sessions * FILL.queuedPerSession, 500, (k) =>
      p.publishAsync(sessionTopic(k % FILL.sessions, 0), JSON.stringify({ n: k, ts: Date.now() }), { qos: 1 }).then(() => {}),
    );
    await publisher.endAsync();
  } finally {
    publisher?.end(true);
    const code = await broker.stop('SIGTERM');
    if (code !== 0) throw new Error(`the filling broker exited with ${code}:\n${broker.output()}`);
  }
  return { ms: performance.now() - t0 };
}

/** Starts a broker on the filled folder and counts what comes back: every retained message, and one session's queue. */
export async function verifyStore(dir: string): Promise<{ retained: number; queued: number }> {
  const broker = startFilling(dir);
  const { mqtt: url } = await brokerReady(broker, 30_000);
  const clients: MqttClient[] = [];
  try {
    const reader = await connect(url, { clientId: 'bench-reader', protocolVersion: 4 }, 20_000);
    clients.push(reader);
    let retained = 0;
    const allRetained = new Promise<void>((resolve) =>
      reader.on('message', (_topic, _payload, packet) => {
        if (packet.retain && ++retained === FILL.retained) resolve();
      }),
    );
    await reader.subscribeAsync('bench/retained/#', { qos: 0 });
    await Promise.race([allRetained, new Promise((r) => setTimeout(r, 20_000))]);
    // One session's queued messages (an inbox attached before its CONNACK), then a barrier: none more after it.
    // Waited for by count first: Aedes may send a live message before it has replayed a session's queue (another
    // topic, so MQTT's ordering does not say otherwise), so the barrier alone would not show the queue is all in.
    const session = await connectWithInbox(url, { clientId: sessionId(0), clean: false, protocolVersion: 4 }, clients);
    const isQueued = (m: { topic: string }) => m.topic === sessionTopic(0, 0);
    await session.waitFor(() => session.messages.filter(isQueued).length >= FILL.queuedPerSession, 20_000, 'the queued messages').catch(() => {});
    await reader.publishAsync(sessionTopic(0, 1), 'barrier', { qos: 1 });
    await session.waitFor((m) => m.text === 'barrier', 20_000, 'the barrier').catch(() => {});
    const queued = session.messages.filter(isQueued).length;
    return { retained, queued };
  } finally {
    for (const c of clients) c.end(true);
    await broker.stop('SIGTERM');
  }
}

/** The data folder's size on disk, MiB. */
export function folderMiB(dir: string): number {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return bytes / 2 ** 20;
}

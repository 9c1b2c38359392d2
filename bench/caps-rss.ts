/**
 * What the caps on broker state save: the broker's RSS before and after one client fills it (issue 14, finding 8),
 * with the caps at their defaults and with them lifted, each run in a fresh process.
 *
 *   node --import tsx bench/caps-rss.ts
 *
 * - retained: 10,000 retained topics of 10 KiB;
 * - queued: 10,000 QoS 1 messages of 10 KiB for one offline persistent session;
 * - subscriptions: 100,000 subscriptions on one client.
 */
import { fileURLToPath } from 'node:url';
import { startBroker } from '../broker/broker';
import { DEFAULT_LIMITS, type Limits } from '../broker/security/limits';
import { capturingLogger } from '../test-support/logs';
import { connect, subscribe } from '../test-support/mqtt';
import { spawnProcess } from '../test-support/processes';
import { rssMiB } from './proc-stats';

const SCENARIOS = ['retained', 'queued', 'subscriptions'] as const;
type Scenario = (typeof SCENARIOS)[number];
const PAYLOAD = Buffer.alloc(10 * 1024, 'x');
const LIFTED: Partial<Limits> = { maxRetainedMessages: 1e9, maxRetainedBytes: 1e15, maxQueuedMessages: 1e9, maxSubscriptionsPerClient: 1e9 };

/** The broker alone in its own process (the load comes from the parent), collecting garbage every 500 ms. */
async function brokerProcess(caps: 'on' | 'off'): Promise<void> {
  const broker = await startBroker({
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    log: capturingLogger().log,
    limits: { publishRate: 1e6, publishBurst: 1e6, ...(caps === 'off' ? LIFTED : {}) },
  });
  setInterval(() => (globalThis as { gc?: () => void }).gc?.(), 500);
  console.log(JSON.stringify({ mqtt: broker.mqttUrl }));
  process.once('SIGTERM', () => void broker.close().then(() => process.exit(0)));
}

const settle = () => new Promise((r) => setTimeout(r, 2000));

async function measure(scenario: Scenario, caps: 'on' | 'off'): Promise<{ before: number; after: number }> {
  const proc = spawnProcess(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--broker', caps]);
  try {
    const url = JSON.parse((await proc.waitForOutput(/\{"mqtt":"[^"]+"\}/, 30_000))[0]).mqtt as string;
    await settle();
    const before = rssMiB(proc.child.pid!);
    const client = await connect(url);
    if (scenario === 'retained') {
      for (let i = 0; i < 10_000; i++) await client.publishAsync(`bench/r/${i}`, PAYLOAD, { qos: 1, retain: true });
    } else if (scenario === 'queued') {
      const session = await connect(url, { clientId: 'offline', clean: false });
      await subscribe(session, 'bench/q', 1);
      await session.endAsync();
      for (let i = 0; i < 10_000; i++) await client.publishAsync('bench/q', PAYLOAD, { qos: 1 });
    } else {
      for (let i = 0; i < 100; i++) await subscribe(client, Array.from({ length: 1000 }, (_, j) => `bench/s/${i}/${j}`), 0);
    }
    await settle();
    const after = rssMiB(proc.child.pid!);
    client.end(true);
    return { before, after };
  } finally {
    await proc.stop('SIGTERM');
  }
}

if (process.argv[2] === '--broker') {
  await brokerProcess(process.argv[3] as 'on' | 'off');
} else {
  console.log(`caps at their defaults: ${DEFAULT_LIMITS.maxRetainedMessages} retained messages, ${DEFAULT_LIMITS.maxRetainedBytes / 2 ** 20} MiB of them, ${DEFAULT_LIMITS.maxQueuedMessages} queued, ${DEFAULT_LIMITS.maxSubscriptionsPerClient} subscriptions`);
  console.log('| scenario | caps | broker RSS before (MiB) | after (MiB) | growth (MiB) |');
  console.log('|---|---|---|---|---|');
  for (const scenario of SCENARIOS) {
    for (const caps of ['off', 'on'] as const) {
      const { before, after } = await measure(scenario, caps);
      console.log(`| ${scenario} | ${caps === 'on' ? 'defaults' : 'lifted'} | ${before.toFixed(1)} | ${after.toFixed(1)} | +${(after - before).toFixed(1)} |`);
    }
  }
}

import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { startRedis, type RedisServer } from '../test-support/redis';

// A broker process on a real redis-server (Debian's, no persistence, on a free port) while that Redis goes away.
// The broker runs as a child process: what ended it was an unhandled 'error' event, which only a real process shows.
// The three ways Redis goes away run side by side, each with its own Redis and broker, to keep the suite short.
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Broker {
  process: Spawned;
  mqtt: string;
  http: string;
}

async function brokerOn(redisUrl: string): Promise<Broker> {
  const b = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--redis', redisUrl]);
  cleanup.push(() => b.stop('SIGKILL'));
  const { mqtt, http } = await brokerReady(b, 20_000);
  return { process: b, mqtt, http };
}

async function healthz(broker: Broker): Promise<number> {
  try {
    return (await fetch(broker.http + 'healthz', { signal: AbortSignal.timeout(5000) })).status;
  } catch (error) {
    throw new Error(`the broker does not answer /healthz (${String(error)}); its output:\n${broker.process.output()}`);
  }
}

/** Publishes 0, 1, 2… on `topic` (QoS 1) every 100 ms until stopped, bounded to 5 minutes of sending. */
function keepPublishing(client: MqttClient, topic: string) {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < 3000 && !client.disconnecting) client.publish(topic, String(sent++), { qos: 1 });
  }, 100);
  cleanup.push(() => clearInterval(timer));
  return {
    stop: () => {
      clearInterval(timer);
      return sent;
    },
  };
}

/**
 * A broker on Redis with a local subscriber and a local publisher sending throughout; `disrupt` takes Redis away
 * (and brings it back) while /healthz is watched. Afterwards the broker still runs, both clients are still
 * connected, and the subscriber got every message the publisher sent.
 */
async function survives(name: string, disrupt: (redis: RedisServer, broker: Broker) => Promise<RedisServer>): Promise<void> {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  const broker = await brokerOn(redis.url);
  const sub = await connect(broker.mqtt, { clientId: `${name}-sub` });
  const pub = await connect(broker.mqtt, { clientId: `${name}-pub` });
  cleanup.push(() => sub.end(true), () => pub.end(true));
  const inbox = new Inbox(sub);
  const topic = `local/${name}`;
  await subscribe(sub, topic);
  expect(await healthz(broker)).toBe(200);

  const publishing = keepPublishing(pub, topic);
  const back = await disrupt(redis, broker);
  if (back !== redis) cleanup.push(() => back.stop());
  await expect.poll(() => healthz(broker), { timeout: 30_000, interval: 500 }).toBe(200);
  const sent = publishing.stop();

  const got = await inbox.waitForCount(topic, sent, 60_000);
  expect(got.map((m) => m.text), `${name}: every local message, in order`).toEqual([...Array(sent).keys()].map(String));
  expect(broker.process.hasEnded(), `${name}: broker still running\n${broker.process.output()}`).toBe(false);
  expect([sub.connected, pub.connected], `${name}: local clients still connected`).toEqual([true, true]);
}

/** Redis stopped with `signal` and kept down 20 s: /healthz says 503 meanwhile. */
const downFor20s = (signal: NodeJS.Signals) => async (redis: RedisServer, broker: Broker) => {
  await redis.stop(signal);
  await expect.poll(() => healthz(broker), { timeout: 15_000, interval: 500 }).toBe(503);
  await sleep(20_000);
  expect(await healthz(broker)).toBe(503);
  // Said loudly, but at a limited rate: at most a line per connection (five: persistence, the emitter's two, the
  // cluster rules' two) every 10 s, not one per retry.
  const lost = broker.process.output().match(/Redis connection lost/g) ?? [];
  expect(lost.length).toBeGreaterThan(0);
  expect(lost.length).toBeLessThanOrEqual(15);
  return startRedis(redis.port);
};

/** Redis restarted three times within 10 s. */
const flapping = async (redis: RedisServer) => {
  let current = redis;
  for (let i = 0; i < 3; i++) {
    await current.stop(i === 1 ? 'SIGKILL' : 'SIGTERM');
    await sleep(1000);
    current = await startRedis(redis.port);
    if (i < 2) await sleep(1500);
  }
  return current;
};

/** Redis stops answering for 5 s (SIGSTOP, then SIGCONT): slow, not gone. */
const frozen = async (redis: RedisServer) => {
  redis.process.child.kill('SIGSTOP');
  await sleep(5000);
  redis.process.child.kill('SIGCONT');
  return redis;
};

describe('Redis lost while the broker runs', () => {
  it('stopped for 20 s, killed with SIGKILL for 20 s, restarted three times in 10 s, frozen for 5 s: the broker carries on and local clients lose nothing', async () => {
    await Promise.all([
      survives('sigterm', downFor20s('SIGTERM')),
      survives('sigkill', downFor20s('SIGKILL')),
      survives('flapping', flapping),
      survives('frozen', frozen),
    ]);
  }, 150_000);
});

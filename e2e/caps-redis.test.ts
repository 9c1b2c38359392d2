import { describe, expect, it } from 'vitest';
import { connectRedis } from '../broker/redis';
import { startTestBrokerFor } from '../test-support/broker';
import { capturingLogger } from '../test-support/logs';
import { subscribe } from '../test-support/mqtt';
import { startRedis } from '../test-support/redis';
import { teardownAfterEach } from '../test-support/teardown';

// The queue cap (broker/caps/queued.ts) with two instances on one real redis-server.
const teardown = teardownAfterEach();

describe('queued-messages cap with --redis', () => {
  it('with two instances on one Redis, a persistent session online at the other instance loses nothing to the queue cap', async () => {
    const redis = teardown.add(await startRedis(), (r) => r.stop());
    const onRedis = async () => ({ redis: await connectRedis(redis.url, capturingLogger().log), limits: { maxQueuedMessages: 5 } });
    const a = await startTestBrokerFor(teardown, await onRedis());
    const b = await startTestBrokerFor(teardown, await onRedis());
    const received: string[] = [];
    const session = await b.connect('tcp', { clientId: 'q2', clean: false });
    session.on('message', (_topic, payload) => received.push(payload.toString()));
    await subscribe(session, 'home/q2', 1);
    const publisher = await a.connect('tcp');
    await expect.poll(async () => (await publisher.publishAsync('home/q2', 'probe', { qos: 1 }), received.length)).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) await publisher.publishAsync('home/q2', String(i), { qos: 1 });
    await expect.poll(() => received.filter((m) => m !== 'probe')).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(a.broker.metrics.capsHit.queued_messages).toBe(0);
  });
});

import AsyncMemory from 'aedes-persistence/asyncPersistence.js';
import { describe, expect, it } from 'vitest';
import { OutagePersistence, RetainedCopy } from './outage-persistence';

// The routing of outage-persistence.ts on its own, with aedes-persistence's in-memory class standing in for Redis's
// (the same interface): e2e/redis-outage-clients.test.ts runs it on a real redis-server.
const packet = (topic: string, text: string) => ({ topic, payload: Buffer.from(text), qos: 0, retain: true, cmd: 'publish' });

async function all<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

function persistences(up: { now: boolean }) {
  const redis = new AsyncMemory();
  const outage = new OutagePersistence(redis as never, () => up.now);
  return { redis, outage };
}

describe('outage persistence', () => {
  it('keeps a retained copy within its count and byte bounds, oldest dropped first, and forgets what Redis no longer has', () => {
    const copy = new RetainedCopy();
    copy.maxMessages = 3;
    copy.maxBytes = 10;
    for (const topic of ['a', 'b', 'c', 'd']) copy.keep(packet(topic, 'xx'));
    expect([...copy.matching(['#'])].map((p) => p.topic)).toEqual(['b', 'c', 'd']);
    copy.keep(packet('e', 'x'.repeat(9)));
    expect([...copy.matching(['#'])].map((p) => p.topic)).toEqual(['e']);
    copy.keep(packet('e', ''));
    expect(copy.size).toBe(0);

    copy.maxBytes = 100;
    for (const topic of ['s/1', 's/2', 't/1']) copy.keep(packet(topic, 'x'));
    copy.settle(['s/+'], new Set(['s/2']));
    expect([...copy.matching(['#'])].map((p) => p.topic)).toEqual(['s/2', 't/1']);
  });

  it("serves a client admitted during an outage from its own memory for its whole connection, and the others from Redis's", async () => {
    const up = { now: false };
    const { redis, outage } = persistences(up);
    await outage.setup({ id: 'broker-a' });
    const local = { id: 'local', conn: {} };
    outage.serveLocally(local);
    up.now = true; // Redis back: the local client stays local
    await outage.putWill(local, packet('will/local', 'gone'));
    await outage.addSubscriptions(local, [{ topic: 'x', qos: 1 }]);
    expect(await redis.getWill({ id: 'local' })).toBe(undefined);
    expect(await outage.getWill({ id: 'local' })).toMatchObject({ topic: 'will/local' });
    expect(await redis.subscriptionsByClient({ id: 'local' })).toEqual([]);

    const other = { id: 'other', conn: {} };
    await outage.putWill(other, packet('will/other', 'gone'));
    expect(await redis.getWill({ id: 'other' })).toMatchObject({ topic: 'will/other' });

    // Its connection closes with a will: the plain-id calls still reach its memory until the will is deleted.
    await outage.release(local);
    expect(await outage.delWill({ id: 'local' })).toMatchObject({ topic: 'will/local' });
    expect(outage.localClients).toBe(0);
    await redis.putWill({ id: 'local' }, packet('will/redis', 'x'));
    expect(await outage.getWill({ id: 'local' })).toMatchObject({ topic: 'will/redis' });
  });

  it("a new connection with a local client's id uses Redis for its plain-id calls", async () => {
    const { redis, outage } = persistences({ now: false });
    await outage.setup({ id: 'broker-a' });
    const local = { id: 'same', conn: {} };
    outage.serveLocally(local);
    await outage.cleanSubscriptions(local);
    await redis.addSubscriptions({ id: 'same' }, [{ topic: 'kept', qos: 1 }]);
    expect(await outage.subscriptionsByClient({ id: 'same' })).toEqual([]);
    outage.useRedisFor('same');
    expect(await outage.subscriptionsByClient({ id: 'same' })).toMatchObject([{ topic: 'kept' }]);
  });

  it('gives retained messages from Redis while it is up (keeping a copy) and from the copy while it is down', async () => {
    const up = { now: true };
    const { redis, outage } = persistences(up);
    await outage.setup({ id: 'broker-a' });
    await redis.storeRetained(packet('r/other', 'stored by another instance'));
    await outage.storeRetained(packet('r/mine', 'stored here'));
    expect((await all(outage.createRetainedStreamCombi(['r/#']))).map((p) => p.topic).sort()).toEqual(['r/mine', 'r/other']);
    up.now = false;
    await outage.storeRetained(packet('r/down', 'stored during the outage'));
    expect((await all(outage.createRetainedStreamCombi(['r/#']))).map((p) => p.topic).sort()).toEqual(['r/down', 'r/mine', 'r/other']);
  });
});

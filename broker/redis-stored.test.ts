import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import msgpack from 'msgpack-lite';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import type { Readable } from 'node:stream';
import { startRedis, type RedisServer } from '../test-support/redis';
import { guardStoredReads } from './redis-stored';
import { DEFAULT_LIMITS } from './security/limits';

// aedes-persistence-redis itself, on a real redis-server, reading records someone else wrote there: through the
// guarded connection each bad record is reported and skipped, the good ones still come. Wills are read by Aedes'
// sweep every 4 minutes and queued messages at a reconnect, too slow or too roundabout for the e2e test
// (e2e/redis-trust.test.ts covers retained messages and subscriptions through the compiled broker).
interface StreamingPersistence {
  streamWill(brokers?: Record<string, number>): Readable;
  outgoingStream(client: { id: string }): Readable;
  createRetainedStream(pattern: string): Readable;
}

let redis: RedisServer;
let raw: Redis;
let db: Redis;
let persistence: StreamingPersistence;
const dropped: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  raw.disconnect();
  await redis.stop();
});
beforeEach(async () => {
  await raw.flushall();
  dropped.length = 0;
  db?.disconnect();
  db = new Redis(redis.url);
  guardStoredReads(db, DEFAULT_LIMITS, (key, reason) => dropped.push(`${key}: ${reason}`));
  persistence = aedesPersistenceRedis({ conn: db }) as unknown as StreamingPersistence;
  return () => db.disconnect();
});

const packet = (fields: Record<string, unknown>) =>
  msgpack.encode({ cmd: 'publish', brokerId: 'gone', brokerCounter: 1, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, ...fields });

async function all(stream: Readable): Promise<Record<string, unknown>[]> {
  const got: Record<string, unknown>[] = [];
  for await (const item of stream) got.push(item as Record<string, unknown>);
  return got;
}

describe('records aedes-persistence-redis did not write', () => {
  it('wills: garbage, a will on $SYS/ or $mqlive/, a status the contract refuses are skipped; a real will comes', async () => {
    const wills: [string, Buffer][] = [
      ['will:gone:a', Buffer.from([0xc1])],
      ['will:gone:b', msgpack.encode(7)],
      ['will:gone:c', packet({ topic: '$SYS/sub/add', payload: Buffer.from('not json'), clientId: 'c' })],
      ['will:gone:d', packet({ topic: '$mqlive/clients/d/refused', clientId: 'd' })],
      ['will:gone:e', packet({ topic: 'devices/e/status', payload: Buffer.from('hacked'), clientId: 'e' })],
      ['will:gone:f', packet({ topic: 'devices/f/#', payload: Buffer.from('offline'), clientId: 'f' })],
      ['will:gone:g', packet({ topic: 'devices/g/status', payload: Buffer.from('offline'), clientId: '__proto__' })],
      ['will:gone:real', packet({ topic: 'devices/real/status', payload: Buffer.from('offline'), retain: true, clientId: 'real' })],
    ];
    for (const [key, value] of wills) {
      await raw.rpush('will', key);
      await raw.set(key, value);
    }
    const got = await all(persistence.streamWill({}));
    expect(got.map((w) => [w.topic, String(w.payload), w.clientId])).toEqual([['devices/real/status', 'offline', 'real']]);
    expect(dropped.map((d) => d.split(':').slice(0, 3).join(':'))).toEqual(['will:gone:a', 'will:gone:b', 'will:gone:c', 'will:gone:d', 'will:gone:e', 'will:gone:f', 'will:gone:g']);
  });

  it("a session's queued messages: the bad ones are skipped, a real one and a QoS 2 PUBREL come", async () => {
    const queued: [string, Buffer][] = [
      ['packet:gone:1', Buffer.from([0xc1, 0xc1])],
      ['packet:gone:2', packet({ topic: 'free/a', qos: 9 })],
      ['packet:gone:3', packet({ topic: '$mqlive/clients/me/refused' })],
      ['packet:gone:4', packet({ topic: 'free/real', messageId: null })],
      ['outgoing:me:gone:5', msgpack.encode({ cmd: 'pubrel', messageId: 5, brokerId: 'gone', brokerCounter: '5' })],
    ];
    for (const [key, value] of queued) {
      await raw.rpush('outgoing:me', key);
      await raw.set(key, value);
    }
    const got = await all(persistence.outgoingStream({ id: 'me' }));
    expect(got.map((p) => `${String(p.cmd)} ${String(p.topic ?? p.messageId)}`)).toEqual(['publish free/real', 'pubrel 5']);
    expect(dropped).toHaveLength(3);
  });

  it('retained: a wildcard read skips a record stored under another topic than its own', async () => {
    await raw.hset('retained', 'free/a', packet({ topic: 'free/b', retain: true }));
    await raw.hset('retained', 'free/c', packet({ topic: 'free/c', retain: true }));
    const got = await all(persistence.createRetainedStream('free/#'));
    expect(got.map((p) => p.topic)).toEqual(['free/c']);
    expect(dropped).toEqual(['retained free/a: stored under free/a but for another topic']);
  });

  it('retained: a key that is not an encoded topic reads as absent, logged, not as an error (found by a review)', async () => {
    await raw.set('retained:%E0%A4%A', packet({ topic: 'x', retain: true }));
    await expect(db.getBuffer('retained:%E0%A4%A')).resolves.toBeNull();
    expect(dropped).toEqual(['retained:%E0%A4%A: a retained key that is not an encoded topic']);
  });
});

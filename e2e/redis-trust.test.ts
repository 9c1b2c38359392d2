import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import msgpack from 'msgpack-lite';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { startRedis, type RedisServer } from '../test-support/redis';

// What someone who can write to mqlive's Redis can do to its instances, against two compiled broker processes on
// a real redis-server. Instances send each message on the Redis channel named by its MQTT topic (mqemitter-redis:
// msgpack of {id, msg: Aedes' packet}), and Aedes itself listens on `$SYS/sub/add` and `$SYS/+/heartbeat`, so every
// instance reads those channels whether or not a client subscribed. The attacker here is a plain Redis client.
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function brokerOn(redis: RedisServer, id: string, extra: string[] = []) {
  const b = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--redis', redis.url, '--id', id, ...extra]);
  cleanup.push(() => b.stop('SIGKILL'));
  const { mqtt } = await brokerReady(b, 20_000);
  return { process: b, mqtt };
}

async function twoInstances(redis: RedisServer) {
  return { a: await brokerOn(redis, 'broker-a'), b: await brokerOn(redis, 'broker-b') };
}

/** A raw Redis client: writes whatever bytes it is given, as anyone with access to Redis can. */
function rawClient(redis: RedisServer): Redis {
  const raw = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  cleanup.push(() => raw.disconnect());
  return raw;
}

/** Writes messages to Redis as an instance does (mqemitter-redis' own encoding): well-formed, but forged. */
function forger(redis: RedisServer) {
  const emitter = mqemitterRedis({ port: redis.port, host: '127.0.0.1' });
  cleanup.push(() => new Promise<void>((resolve) => emitter.close(() => resolve())));
  let counter = 0;
  return (topic: string, payload: string) =>
    new Promise<void>((resolve, reject) =>
      emitter.emit({ cmd: 'publish', brokerId: 'forger', brokerCounter: ++counter, topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );
}

/** A message published on instance A reaches a subscriber on instance B. */
async function carriesAcross(a: { mqtt: string }, b: { mqtt: string }, text: string): Promise<void> {
  const viewer = await connect(b.mqtt);
  cleanup.push(() => viewer.end(true));
  const inbox = new Inbox(viewer);
  await subscribe(viewer, 'free/#');
  const publisher = await connect(a.mqtt);
  cleanup.push(() => publisher.end(true));
  await publisher.publishAsync('free/across', text, { qos: 1 });
  await inbox.waitFor((m) => m.topic === 'free/across' && m.text === text, 10_000);
}

function alive(...processes: Spawned[]): void {
  for (const p of processes) expect(p.hasEnded(), `still running\n${p.output()}`).toBe(false);
}

describe('what comes from Redis is checked', () => {
  it('bytes that are not a message are logged and dropped: both instances keep serving, A still reaches B', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const { a, b } = await twoInstances(redis);
    const viewer = await connect(b.mqtt, { clientId: 'viewer-b' });
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);
    await subscribe(viewer, ['free/#', 'devices/#']);
    const publisher = await connect(a.mqtt, { clientId: 'publisher-a' });
    cleanup.push(() => publisher.end(true));

    const raw = rawClient(redis);
    const notMsgpack = Buffer.from([0xc1, 0xc1, 0xc1]); // 0xc1 is never used by msgpack
    const msgpackNotAMessage = Buffer.from([0x92, 0x01, 0x02]); // [1, 2]
    expect(await raw.publish('$SYS/sub/add', notMsgpack), 'instances listening on $SYS/sub/add').toBe(2);
    for (const channel of ['$SYS/broker-a/heartbeat', 'devices/x/mouse/move', 'free/x']) await raw.publish(channel, notMsgpack);
    for (const channel of ['$SYS/sub/add', 'free/x']) await raw.publish(channel, msgpackNotAMessage);
    // What decodes but does not hold what Aedes expects on its own channels: `$SYS/sub/add` carries JSON.
    const forge = forger(redis);
    await forge('$SYS/sub/add', 'not json');
    await forge('$SYS/sub/add', '{"clientId":"x","subs":7}');

    expect(await b.process.waitForEvent('redis_bad_message')).toMatchObject({ channel: expect.any(String), reason: expect.any(String) });
    await a.process.waitForEvent('redis_bad_message');
    await publisher.publishAsync('free/after', 'from A', { qos: 1 });
    expect(await inbox.waitFor((m) => m.topic === 'free/after', 10_000)).toMatchObject({ text: 'from A' });
    expect(inbox.messages.map((m) => m.topic)).toEqual(['free/after']);
    alive(a.process, b.process);
    expect([viewer.connected, publisher.connected]).toEqual([true, true]);
  }, 60_000);

  it('a $mqlive/ notice never comes from Redis, and contract topics are checked again', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    const { b } = await twoInstances(redis);
    const viewer = await connect(b.mqtt, { clientId: 'viewer-b' });
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);

    // A forged notice, its bytes captured before any instance listens for it (mqemitter-redis would skip the
    // same message id twice); sent as it is, and on a channel the viewer listens on (Aedes delivers by the topic
    // inside). Then a device status the contract does not allow.
    const noticeTopic = '$mqlive/clients/viewer-b/refused';
    const notice = JSON.stringify({ topic: 'devices/x/status', reason: 'forbidden', why: 'forged', ts: 1 });
    const raw = rawClient(redis);
    const listener = rawClient(redis);
    const captured = new Promise<Buffer>((resolve) => listener.on('messageBuffer', (_channel: Buffer, message: Buffer) => resolve(message)));
    await listener.subscribe(noticeTopic);
    const forge = forger(redis);
    await forge(noticeTopic, notice);
    const forgedNotice = await captured;
    await subscribe(viewer, [noticeTopic, 'free/#', 'devices/#']);
    expect(await raw.publish(noticeTopic, forgedNotice), 'B listens on the notice channel').toBe(2);
    await raw.publish('free/x', forgedNotice);
    await forge('devices/x/status', 'hacked');
    await forge('free/barrier', 'last');

    await inbox.waitFor((m) => m.topic === 'free/barrier', 10_000);
    expect(inbox.messages.map((m) => `${m.topic} ${m.text}`)).toEqual(['free/barrier last']);
    expect(await b.process.waitForEvent('redis_bad_message')).toMatchObject({ event: 'redis_bad_message' });
    alive(b.process);
  }, 60_000);
});

describe('what is stored in Redis is checked', () => {
  it('records aedes-persistence-redis did not write are logged and read as absent: the instance starts and serves', async () => {
    const redis = await startRedis();
    cleanup.push(() => redis.stop());
    // Written before any instance starts: retained messages (not msgpack, msgpack but not a packet, a forged
    // notice, a status the contract refuses, and one good one) and a session's subscription. Wills and queued
    // messages: broker/redis-stored.test.ts (Aedes reads wills every 4 minutes).
    const raw = rawClient(redis);
    const packet = (topic: string, payload: string) => msgpack.encode({ cmd: 'publish', brokerId: 'forger', brokerCounter: 1, topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false });
    const notice = JSON.stringify({ topic: 'devices/x/status', reason: 'forbidden', why: 'forged', ts: 1 });
    await raw.hset('retained', 'free/not-msgpack', Buffer.from([0xc1, 0xc1, 0xc1]));
    await raw.hset('retained', 'free/not-a-packet', Buffer.from([0x92, 0x01, 0x02]));
    await raw.hset('retained', '$mqlive/clients/viewer-b/refused', packet('$mqlive/clients/viewer-b/refused', notice));
    await raw.hset('retained', 'devices/x/status', packet('devices/x/status', 'hacked'));
    await raw.hset('retained', 'free/kept', packet('free/kept', 'good'));
    await raw.sadd('clients', 'victim');
    await raw.hset('client:victim', 'free/#', Buffer.from([0x05]));

    const b = await brokerOn(redis, 'broker-b');
    const viewer = await connect(b.mqtt, { clientId: 'viewer-b' });
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);
    await subscribe(viewer, ['$mqlive/clients/viewer-b/refused', 'free/#', 'devices/#']);
    expect(await inbox.waitFor((m) => m.topic === 'free/kept', 10_000)).toMatchObject({ text: 'good', retain: true });
    await viewer.publishAsync('free/barrier', 'last', { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'free/barrier', 10_000);

    expect(inbox.messages.map((m) => m.topic).sort()).toEqual(['free/barrier', 'free/kept']);
    const dropped = () =>
      b.process
        .output()
        .split('\n')
        .filter((l) => l.includes('"event":"redis_bad_message"'))
        .map((l) => (JSON.parse(l) as { channel: string }).channel);
    for (const what of ['retained free/not-msgpack', 'retained free/not-a-packet', 'retained $mqlive/clients/viewer-b/refused', 'retained devices/x/status', 'client:victim free/#']) {
      await expect.poll(dropped, { timeout: 5000 }).toContain(what);
    }
    alive(b.process);
  }, 60_000);
});

describe('a private Redis: password and TLS', () => {
  it('redis:// with a password: the wrong one is one clear line and exit 1, the right one carries A to B', async () => {
    const redis = await startRedis(undefined, { password: 'right pass/word' });
    cleanup.push(() => redis.stop());
    const wrongUrl = `redis://:wrong@127.0.0.1:${redis.port}`;
    const wrong = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--redis', wrongUrl]);
    cleanup.push(() => wrong.stop('SIGKILL'));
    expect(await wrong.exited).toBe(1);
    const line = wrong.output().trim();
    expect(line).toMatch(new RegExp(`^mqlive broker: cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${redis.port}: .*(WRONGPASS|invalid).*`));
    expect(line).not.toContain('wrong@');
    expect(line.split('\n')).toHaveLength(1);

    const { a, b } = await twoInstances(redis);
    expect(a.process.output()).not.toContain('right');
    await carriesAcross(a, b, 'with a password');
  }, 60_000);

  it('rediss:// with --redis-ca: without the CA it is refused at start, with it A reaches B over TLS', async () => {
    const redis = await startRedis(undefined, { tls: true, password: 'secret' });
    cleanup.push(() => redis.stop());
    const untrusted = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--redis', redis.url]);
    cleanup.push(() => untrusted.stop('SIGKILL'));
    expect(await untrusted.exited).toBe(1);
    expect(untrusted.output().trim()).toMatch(/^mqlive broker: cannot reach Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*certificate.*$/);

    const a = await brokerOn(redis, 'broker-a', ['--redis-ca', redis.caFile!]);
    const b = await brokerOn(redis, 'broker-b', ['--redis-ca', redis.caFile!]);
    await carriesAcross(a, b, 'over TLS');
  }, 60_000);
});

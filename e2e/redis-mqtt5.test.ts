import { afterEach, describe, expect, it } from 'vitest';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import mqttEmitterRedis from 'mqemitter-redis';
import { connect } from '../test-support/mqtt';
import { brokerOnRedis } from '../test-support/processes';
import { startRedis } from '../test-support/redis';

// MQTT 5 properties between two compiled broker processes on one real redis-server: what a v5 client publishes
// on instance A reaches a subscriber on instance B with its properties unchanged (issue 27), live and retained,
// and from a persistent session's queue; a 3.1.1 subscriber still gets the plain message.
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const brokerOn = (redisUrl: string, id: string) => brokerOnRedis(redisUrl, id, cleanup);

async function twoInstances() {
  const redis = await startRedis();
  cleanup.push(() => redis.stop());
  return { redis, a: await brokerOn(redis.url, 'broker-a'), b: await brokerOn(redis.url, 'broker-b') };
}

const V5: IClientOptions = { protocolVersion: 5 };

async function client(url: string, options: IClientOptions = V5): Promise<MqttClient> {
  const c = await connect(url, options);
  cleanup.push(() => c.end(true));
  return c;
}

/** Every PUBLISH a client receives, packet and all (properties included), with a bounded wait for one. */
function packets(c: MqttClient) {
  const got: IPublishPacket[] = [];
  const wakers = new Set<() => void>();
  c.on('message', (_topic, _payload, packet) => {
    got.push(packet);
    for (const wake of wakers) wake();
  });
  const waitFor = (topic: string, timeoutMs = 10_000) =>
    new Promise<IPublishPacket>((resolve, reject) => {
      const check = () => {
        const found = got.find((p) => p.topic === topic);
        if (!found) return false;
        done();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => (done(), reject(new Error(`no message on ${topic} within ${timeoutMs} ms; got ${got.map((p) => p.topic).join(', ')}`))), timeoutMs);
      const done = () => (clearTimeout(timer), wakers.delete(check));
      if (!check()) wakers.add(check);
    });
  return { got, waitFor };
}

const CORRELATION = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f]);
const PROPERTIES = {
  userProperties: { a: '1', b: ['x', 'y'] },
  contentType: 'application/json',
  payloadFormatIndicator: true,
  responseTopic: 'r/t',
  correlationData: CORRELATION,
  messageExpiryInterval: 60,
};

/** The properties as sent, with the expiry a subscriber sees: what is left of the 60 s, at least 1. */
function expectCarried(packet: IPublishPacket): void {
  const { messageExpiryInterval, ...rest } = packet.properties ?? {};
  const { messageExpiryInterval: _sent, ...sent } = PROPERTIES;
  expect(rest).toEqual(sent);
  expect(Buffer.isBuffer(rest.correlationData) && rest.correlationData.equals(CORRELATION)).toBe(true);
  expect(messageExpiryInterval).toBeGreaterThanOrEqual(1);
  expect(messageExpiryInterval).toBeLessThanOrEqual(60);
}

const payload = JSON.stringify({ hello: 'v5' });

describe('MQTT 5 properties between two instances on one Redis', () => {
  it('live QoS 0 and 1 over TCP: a v5 subscriber on B gets them unchanged, a 3.1.1 subscriber the plain message', async () => {
    const { a, b } = await twoInstances();
    const v5 = await client(b.mqtt);
    const v5Inbox = packets(v5);
    await v5.subscribeAsync('free/v5/#', { qos: 1 });
    const v311 = await client(b.mqtt, { protocolVersion: 4 });
    const v311Inbox = packets(v311);
    await v311.subscribeAsync('free/v5/#', { qos: 1 });

    const publisher = await client(a.mqtt);
    await publisher.publishAsync('free/v5/qos0', payload, { qos: 0, properties: PROPERTIES });
    await publisher.publishAsync('free/v5/qos1', payload, { qos: 1, properties: PROPERTIES });

    for (const topic of ['free/v5/qos0', 'free/v5/qos1']) {
      const got = await v5Inbox.waitFor(topic);
      expect(got.payload.toString()).toBe(payload);
      expectCarried(got);
      const plain = await v311Inbox.waitFor(topic);
      expect(plain.payload.toString()).toBe(payload);
      expect(plain.properties).toBeUndefined();
    }
    expect(v5Inbox.got.map((p) => p.qos)).toEqual([0, 1]);
  }, 60_000);

  it("a v5 session's subscription options (no local, retain as published, subscription identifier) survive a resume on the other instance", async () => {
    const { a, b } = await twoInstances();
    const session: IClientOptions = { protocolVersion: 5, clientId: 'v5-options', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await connect(a.mqtt, session);
    await first.subscribeAsync('free/v5/opts/#', { qos: 1, nl: true, rap: true, properties: { subscriptionIdentifier: 7 } });
    await first.endAsync();

    const { default: mqtt } = await import('mqtt');
    const resumed = mqtt.connect(b.mqtt, { ...session, reconnectPeriod: 0 });
    cleanup.push(() => resumed.end(true));
    const inbox = packets(resumed);
    await new Promise((resolve, reject) => (resumed.once('connect', resolve), resumed.once('error', reject)));
    // Its own message: delivered (or not, with no local) before its PUBACK; the other client's come after that.
    await resumed.publishAsync('free/v5/opts/own', 'mine', { qos: 1 });
    const other = await client(a.mqtt);
    await other.publishAsync('free/v5/opts/kept', 'retained', { qos: 1, retain: true });
    await other.publishAsync('free/v5/opts/barrier', 'last', { qos: 1 });
    await inbox.waitFor('free/v5/opts/barrier');
    expect(inbox.got.map((p) => [p.topic, p.retain, p.properties?.subscriptionIdentifier])).toEqual([
      ['free/v5/opts/kept', true, 7],
      ['free/v5/opts/barrier', false, 7],
    ]);
  }, 60_000);

  it('forged properties mqtt-packet cannot write, or too many, are logged and dropped; a nil topic alias is left out: the v5 subscriber on B stays', async () => {
    const { redis, b } = await twoInstances();
    const v5 = await client(b.mqtt);
    const inbox = packets(v5);
    await v5.subscribeAsync('free/v5/#', { qos: 1 });
    // Written as an instance writes (mqemitter-redis' own encoding), by anyone who can reach Redis.
    const forger = mqttEmitterRedis({ port: redis.port, host: '127.0.0.1' });
    cleanup.push(() => new Promise<void>((resolve) => forger.close(() => resolve())));
    let counter = 0;
    const forge = (topic: string, properties: Record<string, unknown>) =>
      new Promise<void>((resolve, reject) =>
        forger.emit({ cmd: 'publish', brokerId: 'forger', brokerCounter: ++counter, topic, payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties }, (error) =>
          error ? reject(error) : resolve(),
        ),
      );
    await forge('free/v5/forged', { contentType: 7 });
    await forge('free/v5/forged', { userProperties: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, ''])) });
    // As Aedes leaves a resolved topic alias (undefined: nil in msgpack, and a nil property is one mqtt-packet
    // cannot write), with another subscriber's identifier: both are left out, the rest goes on.
    await forge('free/v5/barrier', { contentType: 'text/plain', topicAlias: undefined, subscriptionIdentifier: 99 });
    expect((await inbox.waitFor('free/v5/barrier')).properties).toEqual({ contentType: 'text/plain' });
    expect(inbox.got.map((p) => p.topic)).toEqual(['free/v5/barrier']);
    expect(await b.process.waitForEvent('redis_bad_message')).toMatchObject({ channel: 'free/v5/forged' });
    expect(v5.connected).toBe(true);
  }, 60_000);

  it('retained, QoS 0 and 1: a v5 subscriber on B that arrives later gets them with the remaining expiry', async () => {
    const { a, b } = await twoInstances();
    const publisher = await client(a.mqtt);
    await publisher.publishAsync('free/v5/kept0', payload, { qos: 0, retain: true, properties: PROPERTIES });
    await publisher.publishAsync('free/v5/kept1', payload, { qos: 1, retain: true, properties: PROPERTIES });

    const late = await client(b.mqtt);
    const inbox = packets(late);
    await late.subscribeAsync('free/v5/#', { qos: 1 });
    for (const topic of ['free/v5/kept0', 'free/v5/kept1']) {
      const got = await inbox.waitFor(topic);
      expect(got.retain).toBe(true);
      expectCarried(got);
    }
  }, 60_000);

  it('over WebSocket: a v5 subscriber on B gets a QoS 1 message from A with its properties', async () => {
    const { a, b } = await twoInstances();
    const viewer = await client(b.ws);
    const inbox = packets(viewer);
    await viewer.subscribeAsync('free/v5/#', { qos: 1 });
    const publisher = await client(a.ws);
    await publisher.publishAsync('free/v5/ws', payload, { qos: 1, properties: PROPERTIES });
    expectCarried(await inbox.waitFor('free/v5/ws'));
  }, 60_000);

  it("a persistent v5 session's queued QoS 1 message keeps its properties when it resumes on the other instance", async () => {
    const { a, b } = await twoInstances();
    const session: IClientOptions = { protocolVersion: 5, clientId: 'v5-session', clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await connect(a.mqtt, session);
    await first.subscribeAsync('free/v5/queued', { qos: 1 });
    await first.endAsync();

    // PUBACK comes after Aedes queued the message for the offline session (its enqueueOffline step).
    const publisher = await client(a.mqtt);
    await publisher.publishAsync('free/v5/queued', payload, { qos: 1, properties: PROPERTIES });

    // An inbox attached before the CONNECT goes out: the queue comes right after the CONNACK.
    const { default: mqtt } = await import('mqtt');
    const resumed = mqtt.connect(b.mqtt, { ...session, reconnectPeriod: 0 });
    cleanup.push(() => resumed.end(true));
    const inbox = packets(resumed);
    const got = await inbox.waitFor('free/v5/queued');
    expect(got.qos).toBe(1);
    expectCarried(got);
  }, 60_000);
});

describe('MQTT 5 timers across instances', () => {
  it("a client back on the other instance before its will delay ran out: its will is not published by the first (a witness's is)", async () => {
    const { a, b } = await twoInstances();
    const watcher = await client(b.mqtt);
    const inbox = packets(watcher);
    await watcher.subscribeAsync('free/wills/#', { qos: 1 });
    const { default: mqtt } = await import('mqtt');
    const leaving = (clientId: string) =>
      mqtt.connect(a.mqtt, { protocolVersion: 5, clientId, clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: 30 }, will: { topic: `free/wills/${clientId}`, payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 2 } } });
    const back = leaving('back-elsewhere');
    const witness = leaving('witness');
    cleanup.push(() => back.end(true), () => witness.end(true));
    await Promise.all([back, witness].map((c) => new Promise<void>((resolve) => c.once('connect', () => resolve()))));
    // Both drop (no DISCONNECT: their wills are due); one is back at once on instance B.
    back.stream.destroy();
    witness.stream.destroy();
    const again = await client(b.mqtt, { protocolVersion: 5, clientId: 'back-elsewhere', clean: false, properties: { sessionExpiryInterval: 30 } });
    expect(again.connected).toBe(true);
    // The witness's will, as long delayed, is the barrier: the other's would have come by then.
    await inbox.waitFor('free/wills/witness');
    expect(inbox.got.map((p) => p.topic)).toEqual(['free/wills/witness']);
  }, 60_000);
});

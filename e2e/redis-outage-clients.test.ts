import { afterEach, describe, expect, it } from 'vitest';
import { connectedNow } from '../test-support/cluster';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerOnRedis, type Spawned } from '../test-support/processes';
import { RawClient } from '../test-support/raw-client';
import { startRedis, type RedisServer } from '../test-support/redis';

// New clients while Redis is away (issue 31, "through an outage"): a compiled broker on a real redis-server that
// the test kills (SIGKILL) or freezes (SIGSTOP). Clean-session clients get in at once and are served from this
// instance alone; a client that needs a persistent session is refused at once (CONNACK 0x03, MQTT 5 0x88); the
// client counts stay right, also for a client that gave up while its CONNECT waited on a frozen Redis.
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

type Broker = Awaited<ReturnType<typeof brokerOnRedis>>;

async function health(broker: Broker): Promise<{ code: number; body: { status: string; serving?: string; clients: number } }> {
  const res = await fetch(broker.http + 'healthz', { signal: AbortSignal.timeout(5000) });
  return { code: res.status, body: (await res.json()) as { status: string; serving?: string; clients: number } };
}

/** Both counts, /healthz `clients` and mqlive_clients_connected, as one value to compare. */
async function counts(broker: Broker): Promise<{ healthz: number; metrics: number }> {
  return { healthz: (await health(broker)).body.clients, metrics: await connectedNow(broker) };
}

const endpoint = (broker: Broker) => ({ mqtt: broker.mqtt, ws: broker.ws });

/** Connects and measures how long the CONNACK took. */
async function timedConnect(...args: Parameters<typeof connect>) {
  const started = Date.now();
  const client = await connect(...args);
  cleanup.push(() => client.end(true));
  return { client, ms: Date.now() - started };
}

async function redisAndBroker(id: string): Promise<{ redis: RedisServer; broker: Broker }> {
  const redis = await startRedis();
  cleanup.push(() => redis.stop('SIGKILL'));
  const broker = await brokerOnRedis(redis.url, id, cleanup);
  return { redis, broker };
}

/** Waits until /healthz says Redis is down, and checks what it says then. */
async function untilRedisDown(broker: Broker, withinMs: number): Promise<void> {
  await expect.poll(async () => (await health(broker)).body.status, { timeout: withinMs, interval: 200 }).toBe('redis-down');
  const { code, body } = await health(broker);
  expect({ code, status: body.status, serving: body.serving }).toEqual({ code: 503, status: 'redis-down', serving: 'local-clients' });
}

function refusalEvents(process: Spawned, clientId: string) {
  return process.events('connection_refused').filter((e) => e.clientId === clientId);
}

describe('new clients while Redis is down', () => {
  it('a clean-session client gets in at once, exchanges QoS 0 and 1 messages and gets the retained messages this instance knew; a persistent one is refused at once with 0x03 or 0x88; counts stay right when Redis is back', async () => {
    const { redis, broker } = await redisAndBroker('outage-a');
    const before = await timedConnect(broker.mqtt, { clientId: 'before' });
    await before.client.publishAsync('outage/retained', 'known before', { qos: 1, retain: true });

    await redis.stop('SIGKILL');
    await untilRedisDown(broker, 10_000);
    await broker.process.waitForEvent('redis_outage', { where: { serving: 'local-clients' } });

    // Clean sessions: 3.1.1 clean=true, and MQTT 5 Clean Start with no Session Expiry.
    const sub = await timedConnect(broker.mqtt, { clientId: 'local-sub', clean: true }, 2000);
    const pub = await timedConnect(broker.mqtt, { clientId: 'local-pub', protocolVersion: 5, clean: true, properties: { sessionExpiryInterval: 0 } }, 2000);
    expect(Math.max(sub.ms, pub.ms), 'CONNACK while Redis is down').toBeLessThan(2000);
    const inbox = new Inbox(sub.client);
    const subscribing = Date.now();
    await subscribe(sub.client, ['outage/retained', 'outage/chat'], 1);
    expect(Date.now() - subscribing, 'SUBACK while Redis is down').toBeLessThan(2000);
    const retained = await inbox.waitFor((m) => m.topic === 'outage/retained', 3000, 'the retained message');
    expect(retained).toMatchObject({ text: 'known before', retain: true });

    await pub.client.publishAsync('outage/chat', 'qos 0', { qos: 0 });
    await pub.client.publishAsync('outage/chat', 'qos 1', { qos: 1 });
    await pub.client.publishAsync('outage/chat', 'qos 2', { qos: 2 });
    const chat = await inbox.waitForCount('outage/chat', 3, 3000);
    expect(chat.map((m) => m.text)).toEqual(['qos 0', 'qos 1', 'qos 2']);

    // A retained message published now reaches a new local subscriber too (this instance keeps it).
    await pub.client.publishAsync('outage/retained-now', 'said during the outage', { qos: 1, retain: true });
    const late = await timedConnect(broker.mqtt, { clientId: 'local-late' }, 2000);
    const lateInbox = new Inbox(late.client);
    await subscribe(late.client, 'outage/retained-now', 1);
    expect(await lateInbox.waitFor((m) => m.topic === 'outage/retained-now', 3000, 'the retained message')).toMatchObject({ text: 'said during the outage', retain: true });

    // Persistent sessions: refused at once, with the reason in the log.
    const started = Date.now();
    const v3 = await RawClient.open(endpoint(broker), 'tcp', { clientId: 'persistent-3', clean: false });
    cleanup.push(() => v3.client.end());
    const v5 = await RawClient.open(endpoint(broker), 'tcp', { clientId: 'persistent-5', clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } });
    cleanup.push(() => v5.client.end());
    const v5resume = await RawClient.open(endpoint(broker), 'tcp', { clientId: 'persistent-5b', clean: false, protocolVersion: 5 });
    cleanup.push(() => v5resume.client.end());
    expect(Date.now() - started, 'three refusals').toBeLessThan(3000);
    expect([v3.returnCode, v5.returnCode, v5resume.returnCode]).toEqual([0x03, 0x88, 0x88]);
    await Promise.all([v3.client.waitForClose(), v5.client.waitForClose(), v5resume.client.waitForClose()]);
    for (const id of ['persistent-3', 'persistent-5', 'persistent-5b']) {
      const [event] = await Promise.all([broker.process.waitForEvent('connection_refused', { where: { clientId: id } })]);
      expect(event).toMatchObject({ reason: 'redis-down' });
    }

    expect(await counts(broker), 'during the outage').toEqual({ healthz: 4, metrics: 4 });
    expect((await health(broker)).code).toBe(503);
    // A local client leaving during the outage is counted out at once.
    await new Promise<void>((resolve) => late.client.end(false, {}, () => resolve()));
    await broker.process.waitForEvent('client_disconnected', { where: { clientId: 'local-late' } });
    expect(await counts(broker), 'after one left during the outage').toEqual({ healthz: 3, metrics: 3 });

    // Redis back: healthy again, the local clients still there, persistent sessions work again.
    const back = await startRedis(redis.port);
    cleanup.push(() => back.stop('SIGKILL'));
    await expect.poll(async () => (await health(broker)).code, { timeout: 15_000, interval: 200 }).toBe(200);
    expect((await health(broker)).body.serving).toBe(undefined);
    await broker.process.waitForEvent('redis_outage_over');
    const persistent = await timedConnect(broker.mqtt, { clientId: 'persistent-3', clean: false }, 5000);
    await subscribe(persistent.client, 'outage/chat', 1);
    await pub.client.publishAsync('outage/chat', 'after', { qos: 1 });
    await inbox.waitFor((m) => m.text === 'after', 3000, 'a message after Redis is back');
    expect(await counts(broker), 'after Redis is back').toEqual({ healthz: 4, metrics: 4 });
    for (const id of ['local-sub', 'local-pub']) expect(broker.process.events('client_disconnected').filter((e) => e.clientId === id)).toEqual([]);

    // A client admitted during the outage and leaving after it is counted out.
    await new Promise<void>((resolve) => pub.client.end(false, {}, () => resolve()));
    await broker.process.waitForEvent('client_disconnected', { where: { clientId: 'local-pub' } });
    expect(await counts(broker), 'after one left').toEqual({ healthz: 3, metrics: 3 });
    expect(refusalEvents(broker.process, 'persistent-3')).toHaveLength(1);
  }, 90_000);

  it('a Redis frozen with SIGSTOP counts as down within a few seconds; a client that gave up while its CONNECT waited is not counted when Redis answers again', async () => {
    const { redis, broker } = await redisAndBroker('outage-b');
    const stayed = await timedConnect(broker.mqtt, { clientId: 'stayed' });
    redis.process.child.kill('SIGSTOP');
    cleanup.push(() => redis.process.child.kill('SIGCONT'));

    // Sent before the broker can know: it waits on Redis, and its client gives up.
    const gaveUp = await connect(broker.mqtt, { clientId: 'gave-up', clean: true }, 1000).then(
      (client) => (client.end(true), 'connected'),
      () => 'gave up',
    );

    await untilRedisDown(broker, 8000);
    const during = await timedConnect(broker.mqtt, { clientId: 'during' }, 2000);
    expect(during.ms).toBeLessThan(2000);
    expect(await counts(broker), 'during the outage').toEqual({ healthz: 2, metrics: 2 });

    redis.process.child.kill('SIGCONT');
    await expect.poll(async () => (await health(broker)).code, { timeout: 15_000, interval: 200 }).toBe(200);
    // Barrier: a persistent session's CONNECT and SUBSCRIBE go through Redis after what was waiting there.
    const persistent = await timedConnect(broker.mqtt, { clientId: 'persistent-after', clean: false }, 5000);
    await subscribe(persistent.client, 'barrier/topic', 1);
    expect(gaveUp).toBe('gave up');
    expect(await counts(broker), 'after Redis answers again').toEqual({ healthz: 3, metrics: 3 });
    expect(broker.process.events('client_connected').map((e) => e.clientId)).not.toContain('gave-up');
    expect(stayed.client.connected && during.client.connected).toBe(true);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions } from 'mqtt';
import { Redis } from 'ioredis';
import { as, closing, connectedNow, healthz, TwoInstances, type Instance } from '../test-support/cluster';
import { Inbox, subscribe } from '../test-support/mqtt';
import { startRedis } from '../test-support/redis';

// Two broker processes on one real redis-server, with a users file: the rules of one broker across both
// (issue 31). Passwords are NAME-password (test-support/security.ts).
let cluster: TwoInstances;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  cluster = await TwoInstances.start('cluster', { laptop: 'device', alice: 'viewer', bob: 'viewer', carol: 'viewer', dave: 'viewer' });
  ({ a, b } = cluster);
}, 60_000);

afterAll(() => cluster?.stop());

const kept = (url: string, options: IClientOptions) => cluster.kept(url, options);
const attempt = (url: string, options: IClientOptions) => cluster.attempt(url, options);

describe('two instances on one Redis keep the rules of one broker', () => {
  it('one client id, one connection: a CONNECT on B closes the one on A within 1 s, with 0x8E and its will', async () => {
    const watcher = await kept(b.mqtt, as('alice'));
    const inbox = new Inbox(watcher);
    await subscribe(watcher, 'devices/laptop/status');
    const first = await kept(a.mqtt, as('laptop', { clientId: 'device-laptop', protocolVersion: 5, will: { topic: 'devices/laptop/status', payload: Buffer.from('offline'), qos: 1, retain: false } }));
    const firstClosed = closing(first);
    // How fast (within 1 s) is measured by bench/takeover.ts, not here: this machine is shared and noisy.
    await kept(b.mqtt, as('laptop', { clientId: 'device-laptop', protocolVersion: 5 }));
    expect(await firstClosed).toBe(0x8e);
    await b.process.waitForEvent('client_connected', { where: { clientId: 'device-laptop' } });
    await a.process.waitForEvent('client_taken_over', { where: { clientId: 'device-laptop', by: 'cluster-b' } });
    // MQTT: the connection taken over did not DISCONNECT, so its will goes out.
    expect((await inbox.waitFor((m) => m.topic === 'devices/laptop/status')).text).toBe('offline');
  }, 30_000);

  it("an MQTT 5 delayed will of a connection taken over is not left in Redis under the old instance's id", async () => {
    const willKey = 'will:cluster-a:alice-delayed';
    const direct = new Redis(cluster.redis.port, '127.0.0.1');
    try {
      const first = await kept(a.mqtt, as('alice', { clientId: 'alice-delayed', protocolVersion: 5, properties: { sessionExpiryInterval: 120 }, will: { topic: 'clients/alice-delayed/messages', payload: Buffer.from(JSON.stringify({ text: 'gone', ts: 1 })), qos: 1, retain: false, properties: { willDelayInterval: 60 } } }));
      expect(await direct.exists(willKey)).toBe(1);
      const firstClosed = closing(first);
      await kept(b.mqtt, as('alice', { clientId: 'alice-delayed', protocolVersion: 5, properties: { sessionExpiryInterval: 120 } }));
      expect(await firstClosed).toBe(0x8e);
      await a.process.waitForEvent('client_taken_over', { where: { clientId: 'alice-delayed' } });
      // Otherwise B's will sweep publishes it, a "gone" while alice is connected, once A stops for good.
      await expect.poll(() => direct.exists(willKey), { timeout: 5000 }).toBe(0);
    } finally {
      direct.disconnect();
    }
  }, 30_000);

  it('two CONNECTs with one id on two instances at once end with one live connection, 20 times out of 20', async () => {
    for (let round = 0; round < 20; round++) {
      const id = `race-${round}`;
      const [onA, onB] = await Promise.all([attempt(a.mqtt, as('carol', { clientId: id })), attempt(b.mqtt, as('carol', { clientId: id }))]);
      expect([onA.refused, onB.refused]).toEqual([null, null]);
      // The later claim closes the earlier connection: wait until one is closed, then see that the other still
      // answers (a QoS 1 round trip: whatever closed it would have come first).
      await expect.poll(() => [onA, onB].filter((c) => c.client.connected).length, { timeout: 3000, interval: 20 }).toBeLessThan(2);
      const live = [onA, onB].filter((c) => c.client.connected);
      expect(live.length, `round ${round}`).toBe(1);
      const winner = live[0]!.client;
      await winner.publishAsync(`clients/${id}/messages`, JSON.stringify({ text: `round ${round}`, ts: Date.now() }), { qos: 1 });
      expect(winner.connected, `round ${round}: the winner stays connected`).toBe(true);
      for (const c of [onA, onB]) c.client.end(true);
    }
  }, 120_000);

  it("another user can take neither an id nor a persistent session through the other instance", async () => {
    const alice = await kept(a.mqtt, as('alice', { clientId: 'alice-phone', clean: false }));
    await subscribe(alice, 'devices/+/status');
    await alice.endAsync();
    const bobTries = await attempt(b.mqtt, as('bob', { clientId: 'alice-phone', clean: false }));
    expect(bobTries.refused).toBe(5); // not authorized
    await b.process.waitForEvent('client_id_refused', { where: { clientId: 'alice-phone', username: 'bob' } });
    // Alice's session is still hers, on the other instance too.
    const back = mqtt.connect(b.mqtt, { reconnectPeriod: 0, ...as('alice', { clientId: 'alice-phone', clean: false }) });
    cluster.open.push(back);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      back.once('connect', resolve);
      back.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(true);
  }, 30_000);

  it('a persistent session moves with its id: taken over on B it is present there, queued messages and all; a clean start on A ends it', async () => {
    const first = await kept(a.mqtt, as('alice', { clientId: 'alice-tablet', clean: false }));
    await subscribe(first, 'devices/laptop/status');
    const firstClosed = closing(first);
    const moved = mqtt.connect(b.mqtt, { reconnectPeriod: 0, ...as('alice', { clientId: 'alice-tablet', clean: false }) });
    cluster.open.push(moved);
    const inbox = new Inbox(moved);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      moved.once('connect', resolve);
      moved.once('error', reject);
    });
    await firstClosed;
    expect(connack.sessionPresent).toBe(true);
    // The subscription came along: a message published on A after the takeover reaches the session on B.
    const device = await kept(a.mqtt, as('laptop', { clientId: 'device-laptop' }));
    await device.publishAsync('devices/laptop/status', 'online', { qos: 1, retain: false });
    expect((await inbox.waitFor((m) => m.topic === 'devices/laptop/status')).text).toBe('online');
    // A clean start on A takes the id over again and ends the session.
    const movedClosed = closing(moved);
    const fresh = mqtt.connect(a.mqtt, { reconnectPeriod: 0, ...as('alice', { clientId: 'alice-tablet', clean: true }) });
    cluster.open.push(fresh);
    const freshConnack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      fresh.once('connect', resolve);
      fresh.once('error', reject);
    });
    await movedClosed;
    expect(freshConnack.sessionPresent).toBe(false);
  }, 30_000);

  it('a login lockout earned on A holds on B', async () => {
    for (let n = 0; n < 10; n++) expect((await attempt(a.mqtt, { username: 'dave', password: 'wrong-password', clientId: `guess-${n}` })).refused).toBe(4);
    expect((await attempt(b.mqtt, as('dave', { clientId: 'dave-right' }))).refused).toBe(4);
    await b.process.waitForEvent('login_locked_out', { where: { username: 'dave' } });
  }, 60_000);

  it('a takeover request that never arrives: the sweep sees the id held by a newer connection and closes its own', async () => {
    const client = await kept(a.mqtt, as('alice', { clientId: 'alice-lost', protocolVersion: 5 }));
    const closed = closing(client);
    // What a claim on another instance writes, its request to close lost on the way.
    const direct = new Redis(cluster.redis.port, '127.0.0.1');
    try {
      await direct.set('mqlive:conn:alice-lost', JSON.stringify({ i: 'cluster-elsewhere', t: 'lost-request', at: Date.now() + 1000 }), 'PX', 30_000);
    } finally {
      direct.disconnect();
    }
    expect(await closed).toBe(0x8e);
    await a.process.waitForEvent('client_taken_over', { where: { clientId: 'alice-lost' } });
  }, 30_000);

  it('what is not a takeover message on its channel is logged and dropped; the instances go on taking ids over', async () => {
    const direct = new Redis(cluster.redis.port, '127.0.0.1');
    try {
      for (const junk of ['', 'not json', '{"close":{"id":5}}', '[1,2]', '{"closed":null}']) await direct.publish('mqlive:takeover', junk);
    } finally {
      direct.disconnect();
    }
    await a.process.waitForEvent('redis_bad_message', { where: { channel: 'mqlive:takeover' } });
    const first = await kept(a.mqtt, as('alice', { clientId: 'alice-after-junk' }));
    const firstClosed = closing(first);
    await kept(b.mqtt, as('alice', { clientId: 'alice-after-junk' }));
    await firstClosed;
  }, 30_000);

  it('an id connected on B and again on A while Redis is down: when Redis is back (empty), the newer connection keeps it', async () => {
    const onB = await kept(b.mqtt, as('alice', { clientId: 'alice-outage', protocolVersion: 5 }));
    const onBClosed = closing(onB);
    await cluster.redis.stop('SIGKILL');
    await a.process.waitForEvent('redis_outage', { where: { serving: 'local-clients' } });
    // Let in on what A knows: a clean session, its claim left for when Redis is back.
    const onA = await kept(a.mqtt, as('alice', { clientId: 'alice-outage', protocolVersion: 5 }));
    cluster.redis = await startRedis(cluster.redis.port);
    expect(await onBClosed).toBe(0x8e);
    await Promise.all([b.process.waitForEvent('client_taken_over', { where: { clientId: 'alice-outage' } }), a.process.waitForEvent('redis_outage_over')]);
    // The barrier: a QoS 1 round trip on A after both instances are back; A's connection is still there.
    await onA.publishAsync('clients/alice-outage/messages', JSON.stringify({ text: 'still here', ts: Date.now() }), { qos: 1 });
    expect(onA.connected).toBe(true);
  }, 60_000);

  it('/healthz and /metrics count each connection once, on the instance it is on', async () => {
    for (const c of cluster.open.splice(0)) c.end(true);
    const clients = async () => [(await healthz(a)).clients, (await healthz(b)).clients];
    await expect.poll(clients, { timeout: 10_000 }).toEqual([0, 0]);
    await kept(a.mqtt, as('alice', { clientId: 'counted' }));
    await kept(b.mqtt, as('alice', { clientId: 'counted' }));
    await expect.poll(clients, { timeout: 5000 }).toEqual([0, 1]);
    expect([await connectedNow(a), await connectedNow(b)]).toEqual([0, 1]);
    expect((await healthz(a)).status).toBe('ok');
  }, 30_000);
});

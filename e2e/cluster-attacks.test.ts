import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions } from 'mqtt';
import { as, barrier, CLOSED_BEFORE_CONNACK, connectedNow, healthz, TwoInstances, type Instance } from '../test-support/cluster';
import { Inbox, subscribe } from '../test-support/mqtt';

// Attacks on the cluster rules of issue 31: two broker processes on one real redis-server, a users file, and
// clients that try to get around one id / one connection, id ownership and the login lockout through the other
// instance. Passwords are NAME-password (test-support/security.ts).
let cluster: TwoInstances;
let a: Instance;
let b: Instance;

beforeAll(async () => {
  cluster = await TwoInstances.start('attack', { laptop: 'device', desk: 'device', root: 'admin', alice: 'viewer', bob: 'viewer', erin: 'viewer', frank: 'viewer' }, ['--max-sessions-per-user', '1']);
  ({ a, b } = cluster);
}, 60_000);

afterAll(() => cluster?.stop());

const kept = (url: string, options: IClientOptions) => cluster.kept(url, options);
const attempt = (url: string, options: IClientOptions) => cluster.attempt(url, options);

describe('attacks on the cluster rules', () => {
  it("an admin's use of a device's reserved id does not lock the device out of it on the other instance", async () => {
    // On one broker, device-{name} is its device user's from the start; an admin may use it and it stays the device's.
    const root = await kept(a.mqtt, as('root', { clientId: 'device-laptop' }));
    await barrier(root, 'device-laptop');
    root.end(true);
    const device = await attempt(b.mqtt, as('laptop', { clientId: 'device-laptop' }));
    expect(device.refused, 'the device on its own reserved id').toBe(null);
  }, 30_000);

  it("a CONNECT refused after login (over the session cap) does not close the id's live connection on the other instance", async () => {
    // erin may hold one persistent session per instance (--max-sessions-per-user 1, per instance with --redis).
    await kept(b.mqtt, as('erin', { clientId: 'erin-one', clean: false }));
    const live = await kept(a.mqtt, as('erin', { clientId: 'erin-two', clean: false }));
    // erin-two again, on B: B counts it as a second session of erin's there and refuses it (CONNACK 3).
    const refused = await attempt(b.mqtt, as('erin', { clientId: 'erin-two', clean: false }));
    expect(refused.refused).toBe(3);
    // On one broker a refused CONNECT takes nothing over: the live connection on A must still be there.
    expect(await barrier(live, 'erin-two'), 'the live connection on A after a refused CONNECT on B').toBe(true);
    expect(a.process.events('client_taken_over').filter((e) => e.clientId === 'erin-two')).toEqual([]);
  }, 30_000);

  it('a login lockout cannot be raced past by spreading wrong passwords over both instances at once', async () => {
    const tries = Array.from({ length: 30 }, (_, n) => attempt(n % 2 ? a.mqtt : b.mqtt, { username: 'frank', password: 'wrong-password', clientId: `frank-guess-${n}` }));
    const results = await Promise.all(tries);
    expect(results.every((r) => r.refused === 4)).toBe(true);
    // Locked out on both: even the right password is refused now.
    expect((await attempt(a.mqtt, as('frank', { clientId: 'frank-right-a' }))).refused).toBe(4);
    expect((await attempt(b.mqtt, as('frank', { clientId: 'frank-right-b' }))).refused).toBe(4);
    const locked = a.process.events('login_locked_out').length + b.process.events('login_locked_out').length;
    expect(locked, 'the lockout logged once across instances').toBe(1);
  }, 60_000);

  it('a takeover across instances publishes the old connection\'s will once', async () => {
    const watcher = await kept(b.mqtt, as('alice', { clientId: 'will-watcher' }));
    const inbox = new Inbox(watcher);
    await subscribe(watcher, 'devices/desk/status', 1);
    await kept(a.mqtt, as('desk', { clientId: 'device-desk', will: { topic: 'devices/desk/status', payload: Buffer.from('offline'), qos: 1, retain: false } }));
    const second = await kept(b.mqtt, as('desk', { clientId: 'device-desk' }));
    await inbox.waitFor((m) => m.topic === 'devices/desk/status' && m.text === 'offline');
    // Barrier: the new connection's own status, published after its CONNACK (which came after A closed the old one).
    await second.publishAsync('devices/desk/status', 'online', { qos: 1 });
    await inbox.waitFor((m) => m.text === 'online');
    expect(inbox.messages.filter((m) => m.text === 'offline')).toHaveLength(1);
    expect(second.connected).toBe(true);
  }, 30_000);

  it('three CONNECTs with one id at once (two on A, one on B), 10 rounds: one live connection each time, and no ghost in the counts', async () => {
    const before = [await connectedNow(a), await connectedNow(b)];
    for (let round = 0; round < 10; round++) {
      const id = `triple-${round}`;
      const tries = await Promise.all([a, b, a].map((i) => attempt(i.mqtt, as('alice', { clientId: id }))));
      for (const { refused } of tries) expect([null, CLOSED_BEFORE_CONNACK]).toContain(refused);
      await expect.poll(() => tries.filter((t) => t.client.connected).length, { timeout: 5000, interval: 20 }).toBeLessThan(2);
      const live = tries.filter((t) => t.client.connected);
      expect(live.length, `round ${round}`).toBe(1);
      expect(await barrier(live[0]!.client, id), `round ${round}: the winner stays`).toBe(true);
    }
    // Ten ids, one connection each, counted once across both instances.
    await expect.poll(async () => (await connectedNow(a)) + (await connectedNow(b)) - before[0]! - before[1]!, { timeout: 5000 }).toBe(10);
    expect((await healthz(a)).clients + (await healthz(b)).clients).toBe((await connectedNow(a)) + (await connectedNow(b)));
  }, 90_000);

  it('an MQTT 5 session with a Session Expiry taken over on the other instance keeps its subscription, and its old connection\'s close does not wipe it', async () => {
    const session = { clientId: 'alice-v5', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } };
    const first = await kept(a.mqtt, as('alice', session));
    await subscribe(first, 'devices/desk/status', 1);
    const moved = mqtt.connect(b.mqtt, { reconnectPeriod: 0, ...as('alice', session) });
    cluster.open.push(moved);
    const inbox = new Inbox(moved);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      moved.once('connect', resolve);
      moved.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(true);
    const device = await kept(a.mqtt, as('desk', { clientId: 'device-desk' }));
    await device.publishAsync('devices/desk/status', 'online', { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'devices/desk/status' && m.text === 'online');
    // Gone and back on B: the session (kept 300 s) is still there.
    moved.end(true);
    await b.process.waitForEvent('client_disconnected', { where: { clientId: 'alice-v5' } });
    const back = await attempt(b.mqtt, as('alice', session));
    expect(back.refused).toBe(null);
    const again = await new Promise<boolean>((resolve) => {
      const c = mqtt.connect(a.mqtt, { reconnectPeriod: 0, ...as('alice', session) });
      cluster.open.push(c);
      c.once('connect', (p) => resolve(p.sessionPresent));
      c.once('error', () => resolve(false));
    });
    expect(again, 'the session present on A after two takeovers').toBe(true);
  }, 30_000);

  // Last: it freezes Redis.
  it("another user cannot take a live id through the other instance while Redis is away: back, the owner's connection stays and the other is closed", async () => {
    const alice = await kept(a.mqtt, as('alice', { clientId: 'alice-laptop', protocolVersion: 5 }));
    expect(await barrier(alice, 'alice-laptop')).toBe(true);
    // Frozen, not killed: Redis comes back with what it held (alice owns alice-laptop), as one that was out of reach.
    cluster.redis.process.child.kill('SIGSTOP');
    try {
      await Promise.all([a.process.waitForEvent('redis_outage'), b.process.waitForEvent('redis_outage')]);
      // Bob on B, whose own table knows nothing of alice-laptop: let in as a clean session, Redis not asked.
      const bob = await attempt(b.mqtt, as('bob', { clientId: 'alice-laptop', protocolVersion: 5 }));
      const bobClosed = bob.refused === null ? new Promise<number | null>((resolve) => {
        let reason: number | null = null;
        bob.client.on('disconnect', (packet) => (reason = packet.reasonCode ?? null));
        bob.client.once('close', () => resolve(reason));
      }) : Promise.resolve(bob.refused);
      // The barrier for the sweeps once Redis answers: one more id, on A and then on B (newer) during the outage.
      // Whichever instance sweeps first, A closes its connection of it after anything asked about alice-laptop.
      await kept(a.mqtt, as('root', { clientId: 'sweep-marker' }));
      await kept(b.mqtt, as('root', { clientId: 'sweep-marker' }));
      cluster.redis.process.child.kill('SIGCONT');
      await a.process.waitForEvent('client_taken_over', { where: { clientId: 'sweep-marker' }, timeoutMs: 20_000 });
      expect(a.process.events('client_taken_over').filter((e) => e.clientId === 'alice-laptop'), 'alice-laptop taken over on A').toEqual([]);
      expect(await barrier(alice, 'alice-laptop'), "alice's own connection on A").toBe(true);
      // And bob does not keep it: closed (0x87) once B could ask whose it is.
      expect(await bobClosed).toBe(0x87);
      await b.process.waitForEvent('client_id_refused', { where: { clientId: 'alice-laptop', afterOutage: true } });
    } finally {
      cluster.redis.process.child.kill('SIGCONT');
    }
  }, 60_000);
});

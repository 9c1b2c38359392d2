import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type IClientOptions, type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { Role } from '../broker/security/users';
import { connect, Inbox, retainedOn, sleep, subscribe } from '../test-support/mqtt';
import { makeUsers } from '../test-support/security';
import { storedBrokers } from '../test-support/stored-broker';
import { teardownAfterEach } from '../test-support/teardown';

// Getting around mqlive's rules through a restart of the durable store (issue 28), against the compiled broker:
// what was kept under yesterday's users file, ACL and limits must meet today's when the broker starts again.
const teardown = teardownAfterEach();

const { tempDir, startBroker, end, client, session, leaveSubscribed } = storedBrokers(teardown);
/** A users file on disk (password = name + "-password"). */
async function usersFile(roles: Record<string, Role>): Promise<string> {
  const { file } = await makeUsers(roles);
  teardown.add(file, (f) => rmSync(join(f, '..'), { recursive: true, force: true }));
  return file;
}

/** Publishes a barrier on `topic` and returns what `inbox` got (its topic and text) up to and with it. */
async function upToBarrier(publisher: MqttClient, inbox: Inbox, topic: string): Promise<string[]> {
  await publisher.publishAsync(topic, 'barrier', { qos: 1 });
  await inbox.waitFor((m) => m.topic === topic && m.text === 'barrier', 10_000, `the barrier on ${topic}`);
  return inbox.messages.map((m) => `${m.topic} ${m.text}`);
}

const login = (name: string, options: IClientOptions = {}): IClientOptions => ({ username: name, password: `${name}-password`, ...options });

describe('wills kept at a crash meet the rights of today', () => {
  it("a will is published after the restart only if its client's user may still publish it: a user removed from the users file, an ACL deny added, a payload over today's limit are each dropped with a line", async () => {
    const dir = tempDir('mqlive-attack-');
    const yesterday = await usersFile({ alice: 'device', bob: 'device', carol: 'device', root: 'admin' });
    const first = await startBroker(dir, ['--users', yesterday]);
    const will = (topic: string, payload: string) => ({ will: { topic, payload: Buffer.from(payload), qos: 1 as const, retain: true } });
    await client(first.url, login('alice', { clientId: 'device-alice', ...will('devices/alice/status', 'offline') }));
    await client(first.url, login('bob', { clientId: 'device-bob', ...will('devices/bob/status', 'offline') }));
    await client(first.url, login('carol', { clientId: 'device-carol', ...will('devices/carol/status', 'offline') }));
    await client(first.url, login('root', { clientId: 'root-1', ...will('lab/root/gone', 'root is gone') }));
    await end(first, 'SIGKILL'); // each will was kept before its CONNACK

    // Today: alice is no longer a user, bob is denied his topics, and a contract payload may be 5 bytes at most.
    const today = await usersFile({ bob: 'device', carol: 'device', root: 'admin' });
    const acl = join(tempDir('mqlive-acl-'), 'acl.json');
    writeFileSync(acl, JSON.stringify({ rules: [{ effect: 'deny', action: 'publish', topic: 'devices/bob/#', user: 'bob' }] }));
    const second = await startBroker(dir, ['--users', today, '--acl', acl, '--max-payload-bytes', '5']);
    // Wills are published before the broker is ready: their lines are all there.
    expect(second.process.events('will_published').map((e) => e.clientId)).toEqual(['root-1']);
    expect(
      second.process
        .events('will_dropped')
        .map((e) => [e.clientId, e.username, e.topic])
        .sort(),
    ).toEqual([
      ['device-alice', 'alice', 'devices/alice/status'],
      ['device-bob', 'bob', 'devices/bob/status'],
      ['device-carol', 'carol', 'devices/carol/status'],
    ]);
    const reader = await client(second.url, login('root', { clientId: 'root-reader' }));
    expect((await retainedOn(reader, ['devices/#', 'lab/#'])).map((m) => `${m.topic} ${m.text}`)).toEqual(['lab/root/gone root is gone']);

    // Dropped means gone from the folder: the next start finds none of them.
    await end(second, 'SIGTERM');
    const third = await startBroker(dir, ['--users', yesterday]);
    expect([...third.process.events('will_published'), ...third.process.events('will_dropped')]).toEqual([]);
  });
});

describe('sessions restored at start, and the sessions cap', () => {
  it("a session restored for alice that expires after the restart frees its place in --max-sessions-per-user as it expires (it stayed counted: alice's next session was refused)", async () => {
    const dir = tempDir('mqlive-attack-');
    const users = await usersFile({ alice: 'device' });
    const flags = ['--users', users, '--max-sessions-per-user', '1'];
    const first = await startBroker(dir, flags);
    const expiring = await client(first.url, login('alice', { clientId: 'alice-1', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 2 } }));
    await expiring.endAsync();
    await first.process.waitForEvent('client_disconnected', { where: { clientId: 'alice-1' } });
    await end(first, 'SIGTERM'); // within its 2 s: the session is kept, and restored at start

    const second = await startBroker(dir, flags);
    // Restored, it counts for alice: a second session is over her cap.
    await expect(client(second.url, login('alice', { clientId: 'alice-2', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } }))).rejects.toThrow();
    await second.process.waitForEvent('session_expired', { where: { clientId: 'alice-1' }, timeoutMs: 10_000 });
    const next = await client(second.url, login('alice', { clientId: 'alice-2', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } }));
    expect(next.connected).toBe(true);
  });
});

describe('MQTT 5 Will Delay Interval across a restart', () => {
  it('a will with a delay is not published at start: its client back within the delay cancels it (for this start and the next); without it, it goes at the delay', async () => {
    const dir = tempDir('mqlive-attack-');
    const first = await startBroker(dir);
    const willOf = (topic: string, willDelayInterval: number) => ({ will: { topic, payload: Buffer.from('gone'), qos: 1 as const, retain: true, properties: { willDelayInterval } } });
    const session5 = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 3600 } };
    await client(first.url, { clientId: 'back-soon', ...session5, ...willOf('wd/back-soon', 60) });
    await client(first.url, { clientId: 'not-back', ...session5, ...willOf('wd/not-back', 1) });
    await end(first, 'SIGKILL');

    const second = await startBroker(dir);
    expect(second.process.events('will_published')).toEqual([]);
    await client(second.url, { clientId: 'back-soon', ...session5 }); // back within its 60 s, with no will this time
    await second.process.waitForEvent('will_published', { where: { clientId: 'not-back' }, timeoutMs: 10_000 });
    const reader = await client(second.url, { protocolVersion: 5 });
    expect((await retainedOn(reader, 'wd/#')).map((m) => m.topic)).toEqual(['wd/not-back']);
    await end(second, 'SIGKILL');

    const third = await startBroker(dir);
    expect(third.process.events('will_published')).toEqual([]);
    const reader3 = await client(third.url, { protocolVersion: 5 });
    expect((await retainedOn(reader3, 'wd/#')).map((m) => m.topic)).toEqual(['wd/not-back']);
  });
});

describe('a session restored at start stays its owner\'s', () => {
  it("nobody else takes alice's session after a restart: not bob clean or with MQTT 5 Clean Start, not an anonymous client", async () => {
    const dir = tempDir('mqlive-attack-');
    const users = await usersFile({ alice: 'viewer', bob: 'viewer' });
    const flags = ['--users', users, '--allow-anonymous'];
    const first = await startBroker(dir, flags);
    await leaveSubscribed(first, login('alice', { clientId: 'alice-s', protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }), ['devices/#']);
    await end(first, 'SIGKILL');

    const second = await startBroker(dir, flags);
    const attempts: [string, IClientOptions][] = [
      ['bob, clean', login('bob', { clean: true, protocolVersion: 4 })],
      ['bob, MQTT 5 Clean Start with an expiry', login('bob', { clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } })],
      ['bob, MQTT 5 persistent', login('bob', { clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } })],
      ['anonymous, clean', { clean: true, protocolVersion: 4 }],
    ];
    for (const [who, options] of attempts) {
      await expect(connect(second.url, { clientId: 'alice-s', ...options }), who).rejects.toThrow();
    }
    const back = await session(second.url, login('alice', { clientId: 'alice-s', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }));
    expect(back.connack.sessionPresent).toBe(true);
  });
});

describe("today's caps and expiries apply to what is loaded", () => {
  it('retained messages over a lowered --max-retained-messages are dropped at start (cap_hit), and are gone from the folder at the next start', async () => {
    const dir = tempDir('mqlive-attack-');
    const first = await startBroker(dir);
    const pub = await client(first.url);
    for (const n of [1, 2, 3, 4, 5]) await pub.publishAsync(`kept/${n}`, `v${n}`, { qos: 1, retain: true });
    await end(first, 'SIGTERM');

    const second = await startBroker(dir, ['--max-retained-messages', '2']);
    expect(second.process.events('cap_hit').length).toBeGreaterThan(0);
    // The marker is kept/5, the newest (the excess goes in key order, oldest names first).
    const reader = await client(second.url);
    expect((await retainedOn(reader, 'kept/#', 'kept/5')).map((m) => m.topic)).toEqual(['kept/4', 'kept/5']);
    await end(second, 'SIGTERM');

    const third = await startBroker(dir);
    expect(third.process.events('cap_hit')).toEqual([]);
    const reader3 = await client(third.url);
    expect((await retainedOn(reader3, 'kept/#')).map((m) => m.topic)).toEqual(['kept/4', 'kept/5']);
  });

  it('messages queued for an offline session over a lowered --max-queued-messages are dropped at start, and stay dropped at the next start', async () => {
    const dir = tempDir('mqlive-attack-');
    const first = await startBroker(dir);
    await leaveSubscribed(first, { clientId: 'q-sub', protocolVersion: 4 }, ['q/t']);
    const pub = await client(first.url);
    for (const n of [1, 2, 3, 4, 5]) await pub.publishAsync('q/t', `m${n}`, { qos: 1 });
    await end(first, 'SIGTERM');

    const second = await startBroker(dir, ['--max-queued-messages', '2']);
    expect(second.process.events('cap_hit').map((e) => [e.cap, e.clientId])).toEqual([['queued_messages', 'q-sub']]);
    await end(second, 'SIGTERM');

    const third = await startBroker(dir);
    const back = await session(third.url, { clientId: 'q-sub', clean: false, protocolVersion: 4 });
    await back.inbox.waitFor((m) => m.text === 'm5', 10_000, 'm5');
    expect(await upToBarrier(await client(third.url), back.inbox, 'q/t')).toEqual(['q/t m4', 'q/t m5', 'q/t barrier']);
  });

  it("a persistent session's subscriptions over a lowered --max-subscriptions-per-client are cut to it at start, on disk too (messages were queued through the others while it was away)", async () => {
    const dir = tempDir('mqlive-attack-');
    const first = await startBroker(dir);
    await leaveSubscribed(first, { clientId: 's-sub', protocolVersion: 4 }, ['s/1', 's/2', 's/3', 's/4', 's/5']);
    await end(first, 'SIGTERM');

    const second = await startBroker(dir, ['--max-subscriptions-per-client', '2']);
    expect(second.process.events('cap_hit').map((e) => [e.cap, e.clientId, e.topics])).toEqual([['subscriptions', 's-sub', ['s/3', 's/4', 's/5']]]);
    // Published while it is away (queued through what it holds), and once it is back.
    const pub = await client(second.url);
    for (const n of [1, 2, 3, 4, 5]) await pub.publishAsync(`s/${n}`, `away ${n}`, { qos: 1 });
    const back = await session(second.url, { clientId: 's-sub', clean: false, protocolVersion: 4 });
    expect(back.connack.sessionPresent).toBe(true);
    await back.inbox.waitFor((m) => m.text === 'away 2', 10_000, 'away 2');
    for (const n of [1, 2, 3, 4, 5]) await pub.publishAsync(`s/${n}`, `back ${n}`, { qos: 1 });
    // It holds two of its filters (the first two, in the store's order), and no more.
    expect(await upToBarrier(pub, back.inbox, 's/1')).toEqual(['s/1 away 1', 's/2 away 2', 's/1 back 1', 's/2 back 2', 's/1 barrier']);
    await back.client.endAsync();
    await second.process.waitForEvent('client_disconnected', { where: { clientId: 's-sub' } });
    await end(second, 'SIGTERM');

    // Gone from the folder: a start with the default cap finds two.
    const third = await startBroker(dir);
    const pub3 = await client(third.url);
    const again = await session(third.url, { clientId: 's-sub', clean: false, protocolVersion: 4 });
    for (const n of [1, 2, 3, 4, 5]) await pub3.publishAsync(`s/${n}`, `third ${n}`, { qos: 1 });
    expect(await upToBarrier(pub3, again.inbox, 's/1')).toEqual(['s/1 third 1', 's/2 third 2', 's/1 barrier']);
  });

  it('an MQTT 5 message queued with a Message Expiry Interval is not delivered after a restart past its expiry; nor is a retained one', async () => {
    const dir = tempDir('mqlive-attack-');
    const first = await startBroker(dir);
    await leaveSubscribed(first, { clientId: 'exp-sub', protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }, ['exp/t']);
    const pub = await client(first.url, { protocolVersion: 5 });
    await pub.publishAsync('exp/t', 'short-lived', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('exp/t', 'long-lived', { qos: 1, properties: { messageExpiryInterval: 3600 } });
    await pub.publishAsync('exp/retained', 'short-lived', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    const expired = Date.now() + 1500;
    await end(first, 'SIGTERM');
    await sleep(Math.max(0, expired - Date.now())); // a clock, not an event: the expiry must pass

    const second = await startBroker(dir);
    const back = await session(second.url, { clientId: 'exp-sub', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    await back.inbox.waitFor((m) => m.text === 'long-lived', 10_000, 'long-lived');
    expect(await upToBarrier(await client(second.url), back.inbox, 'exp/t')).toEqual(['exp/t long-lived', 'exp/t barrier']);
    const reader = await client(second.url, { protocolVersion: 5 });
    expect(await retainedOn(reader, 'exp/#')).toEqual([]);
  });
});

describe('a clean session leaves nothing on disk', () => {
  it.each([
    ['MQTT 3.1.1 clean session', { protocolVersion: 4, clean: true }],
    ['MQTT 5 Session Expiry 0', { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 0 } }],
  ] as const)('%s, connected at a crash: none of its subscriptions come back after the restart', async (_name, options) => {
    const dir = tempDir('mqlive-attack-');
    const first = await startBroker(dir);
    const c = await client(first.url, { clientId: 'clean-1', ...options });
    await subscribe(c, ['clean/t']);
    await end(first, 'SIGKILL');

    const second = await startBroker(dir);
    const back = await session(second.url, { clientId: 'clean-1', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    expect(back.connack.sessionPresent).toBe(false);
    const pub = await client(second.url);
    await pub.publishAsync('clean/t', 'not for you', { qos: 1 });
    await subscribe(back.client, ['barrier/clean']);
    expect(await upToBarrier(pub, back.inbox, 'barrier/clean')).toEqual(['barrier/clean barrier']);
  });
});

/** A 1 MiB tmpfs mounted on a fresh folder (root only), or null where it cannot be mounted; unmounted after the test. */
function tinyDisk(): string | null {
  const dir = tempDir('mqlive-full-');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]).status !== 0) return null;
  teardown.add(dir, (d) => execFileSync('umount', ['-l', d]));
  return dir;
}

describe('a full disk while running', () => {
  it('the broker says store_failed and exits 1, and every message it acknowledged is in the folder (read back on a disk with room)', async (context) => {
    const disk = tinyDisk();
    if (!disk) return context.skip('cannot mount a tmpfs here (needs root)');
    const dir = join(disk, 'data');
    const broker = await startBroker(dir);
    const pub = await client(broker.url);
    pub.on('error', () => {});
    const payload = Buffer.alloc(40 * 1024, 'x');
    const acked: string[] = [];
    // 1 MiB holds about 25 of them: the disk fills well within 200.
    // A publish in flight when the broker exits is never acknowledged (MQTT.js keeps it to send again): the exit ends the loop.
    const exited = broker.process.exited.then(() => 'exited' as const);
    for (let n = 0; n < 200; n++) {
      const outcome = await Promise.race([pub.publishAsync(`full/${n}`, payload, { qos: 1, retain: true }).then(() => 'acked' as const), exited]);
      if (outcome === 'exited') break;
      acked.push(`full/${n}`);
    }
    expect(await broker.process.exited).toBe(1);
    expect(broker.process.events('store_failed')).toHaveLength(1);
    expect(acked.length).toBeGreaterThan(0);
    expect(acked.length).toBeLessThan(200); // the disk did fill

    const copy = join(tempDir('mqlive-attack-'), 'data');
    cpSync(dir, copy, { recursive: true });
    const again = await startBroker(copy);
    const reader = await client(again.url);
    const kept = new Set((await retainedOn(reader, 'full/#')).map((m) => m.topic));
    expect(acked.filter((topic) => !kept.has(topic))).toEqual([]);
  });
});

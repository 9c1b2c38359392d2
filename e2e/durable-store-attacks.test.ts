import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import type { Role } from '../broker/security/users';
import { connect, retainedOn } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { makeUsers } from '../test-support/security';
import { teardownAfterEach } from '../test-support/teardown';

// Getting around mqlive's rules through a restart of the durable store (issue 28), against the compiled broker:
// what was kept under yesterday's users file, ACL and limits must meet today's when the broker starts again.
const teardown = teardownAfterEach();

function tempDir(prefix: string): string {
  return teardown.add(mkdtempSync(join(tmpdir(), prefix)), (dir) => rmSync(dir, { recursive: true, force: true }));
}

interface Broker {
  process: Spawned;
  ready: ReadyEvent;
  url: string;
}

async function startBroker(dir: string, extra: string[] = []): Promise<Broker> {
  const process = teardown.add(spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--data-dir', dir, ...extra]), (p) => p.stop('SIGKILL'));
  const ready = await brokerReady(process, 20_000);
  return { process, ready, url: ready.mqtt };
}

async function end(broker: Broker, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  broker.process.child.kill(signal);
  expect(await broker.process.exited).toBe(signal === 'SIGTERM' ? 0 : 'SIGKILL');
}

async function client(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return teardown.add(await connect(url, options), (c) => c.end(true));
}

/** A users file on disk (password = name + "-password"). */
async function usersFile(roles: Record<string, Role>): Promise<string> {
  const { file } = await makeUsers(roles);
  teardown.add(file, (f) => rmSync(join(f, '..'), { recursive: true, force: true }));
  return file;
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

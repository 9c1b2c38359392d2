import { describe, expect, it } from 'vitest';
import { ClientIdOwners } from './security/client-ids';
import { FailedLogins } from './security/failed-logins';
import { Rights } from './security/rights';
import { type TestBroker, type TestBrokerOptions, brokersWithUsers } from '../test-support/broker';
import { subscribe } from '../test-support/mqtt';

// What a second attack on the issue-14 fixes got through, each replayed small.
const brokers = brokersWithUsers({ laptop: 'device', alice: 'viewer', root: 'admin' });
let env: TestBroker;

async function start(options: TestBrokerOptions = {}) {
  env = await brokers.start(options);
  return env;
}

describe('wills', () => {
  // A will is published by the broker after the client is gone (with Redis, by another instance, with no client
  // to check): a client may leave only a will it could publish itself.
  for (const transport of ['tcp', 'ws'] as const) {
    it(`a viewer cannot leave a retained "offline" on a device's status as its will: CONNACK 5 (${transport})`, async () => {
      await start();
      const will = { topic: 'devices/laptop/status', payload: Buffer.from('offline'), qos: 1 as const, retain: true };
      await expect(env.login('alice', transport, { will })).rejects.toMatchObject({ code: 5 });
      expect(env.logs.events('will_refused')).toContainEqual(expect.objectContaining({ username: 'alice', topic: 'devices/laptop/status' }));
    });
  }

  it('a device may leave its own offline; nobody may leave a will that breaks the contract or sits under $SYS/', async () => {
    await start({ allowAnonymous: true });
    const ok = await env.login('laptop', 'tcp', { will: { topic: 'devices/laptop/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
    expect(ok.connected).toBe(true);
    const bad = { topic: 'devices/laptop/status', payload: Buffer.from('gone for lunch'), qos: 1 as const, retain: true };
    await expect(env.login('laptop', 'tcp', { clientId: 'laptop-2', will: bad })).rejects.toMatchObject({ code: 5 });
    await expect(env.login('root', 'tcp', { will: { topic: '$SYS/x', payload: Buffer.from('1'), qos: 0, retain: false } })).rejects.toMatchObject({ code: 5 });
  });
});

describe('ACL rules by role', () => {
  it('a deny rule for viewers covers anonymous clients, who get a viewer\'s rights', async () => {
    await start({ allowAnonymous: true, acl: [{ effect: 'deny', action: 'subscribe', topic: 'devices/secret/#', role: 'viewer' }] });
    const anonymous = await env.connect('tcp');
    const granted = await subscribe(anonymous, 'devices/secret/#').catch(() => [128]);
    expect(granted).toEqual([128]);
    const rights = new Rights([{ effect: 'deny', action: 'subscribe', topic: 'devices/secret/#', role: 'viewer' }], false);
    expect(rights.canSubscribe({ clientId: 'a', username: null, role: 'anonymous' }, 'devices/secret/#')).toBe(false);
  });
});

describe('bounded state under floods', () => {
  it('anonymous clients never push a user\'s client id out of the ownership table', () => {
    const owners = new ClientIdOwners(brokers.users(), 10);
    expect(owners.claim({ clientId: 'root-dash', username: 'root', role: 'admin' })).toBeNull();
    for (let i = 0; i < 50; i++) owners.claim({ clientId: `x${i}`, username: null, role: 'anonymous' });
    expect(owners.claim({ clientId: 'root-dash', username: 'alice', role: 'viewer' })).toBe('it belongs to root');
  });

  it('a locked-out address opens no window per made-up user name', () => {
    const logins = new FailedLogins({ maxFailedLoginsPerUser: 10, maxFailedLoginsPerAddress: 100 }, 60_000, () => 0);
    for (let i = 0; i < 100; i++) logins.attempt('10.0.0.1', `name${i}`);
    const size = logins.size;
    for (let i = 0; i < 1000; i++) expect(logins.attempt('10.0.0.1', `other${i}`)).not.toBeNull();
    expect(logins.size).toBe(size);
  });

  it('logins with names no user can have share one lockout window, so made-up names cannot each open one', async () => {
    await start();
    const madeUp = (i: number) => `${'x'.repeat(5000)}${i}`;
    for (let i = 0; i < 11; i++) await expect(env.connect('tcp', { username: madeUp(i), password: 'nope' })).rejects.toMatchObject({ code: 4 });
    expect(env.logs.events('login_locked_out')).toContainEqual(expect.objectContaining({ scope: 'user' }));
  });
});

describe('log volume', () => {
  it('reply lines are limited per 10 s, while every reply is still delivered', async () => {
    await start();
    const root = await env.login('root');
    const alice = await env.login('alice', 'tcp', { clientId: 'v7' });
    let got = 0;
    root.on('message', () => (got += 1));
    await subscribe(root, 'clients/+/messages');
    for (let i = 0; i < 80; i++) await alice.publishAsync('clients/v7/messages', JSON.stringify({ text: `line ${i}`, ts: 1 }), { qos: 1 });
    await expect.poll(() => got).toBe(80);
    expect(env.logs.events('client_message').length).toBe(50);
  });
});

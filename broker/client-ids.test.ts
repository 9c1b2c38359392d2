import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { Rights } from './security/rights';
import { type TestBroker, type TestBrokerOptions, brokersWithUsers } from '../test-support/broker';
import { Inbox, subscribe, type Received } from '../test-support/mqtt';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 14, findings 1-3, replayed: client ids in ACL patterns, taking another user's id, stealing a session.
const brokers = brokersWithUsers({ laptop: 'device', dev2: 'device', alice: 'viewer', bob: 'viewer', root: 'admin' });
let env: TestBroker;
const teardown = teardownAfterEach();

async function start(options: TestBrokerOptions = {}) {
  env = await brokers.start(options);
  return env;
}

describe('finding 1: %c and %u never widen an ACL rule', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`with a users file, a client id containing + # or / is refused with CONNACK 2 (${transport})`, async () => {
      await start({ acl: [{ effect: 'allow', action: 'publish', topic: 'devices/%c/note', user: 'alice' }] });
      const root = await env.login('root');
      const inbox = new Inbox(root);
      await subscribe(root, 'devices/#');
      for (const clientId of ['#', '+', 'a/b', 'devices/#']) {
        await expect(env.login('alice', transport, { clientId }), clientId).rejects.toMatchObject({ code: 2 });
      }
      const alice = await env.login('alice', transport, { clientId: 'v9' });
      await alice.publishAsync('devices/laptop/status', 'offline', { qos: 1, retain: true });
      await alice.publishAsync('devices/v9/note', 'mine', { qos: 1 });
      await inbox.waitFor((m) => m.topic === 'devices/v9/note'); // sent after the refused one: the barrier
      expect(inbox.messages.map((m) => m.topic)).toEqual(['devices/v9/note']);
      expect(env.logs.messages()).toContain('Refused client id "#" (user alice): a client id may not contain +, # or / on a broker with users');
    });
  }

  it('a substituted id or user name is matched literally, never as a wildcard', () => {
    const rights = new Rights([{ effect: 'allow', action: 'both', topic: 'devices/%c/note', user: 'alice' }, { effect: 'allow', action: 'both', topic: 'users/%u/#' }], false);
    const as = (clientId: string, username = 'alice') => ({ clientId, username, role: 'viewer' as const });
    expect(rights.canPublish(as('#'), 'devices/laptop/status')).toBe(false);
    expect(rights.canPublish(as('+'), 'devices/laptop/note')).toBe(false);
    expect(rights.canPublish(as('v9'), 'devices/v9/note')).toBe(true);
    expect(rights.canPublish(as('v9', '#'), 'users/bob/x')).toBe(false);
  });
});

describe('findings 2 and 3: a client id and its session belong to the user who holds it', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`another user, or an anonymous client, cannot take a connected device's id: CONNACK 5, the device stays and its will does not fire (${transport})`, async () => {
      await start({ allowAnonymous: true });
      const root = await env.login('root');
      const statuses = new Inbox(root);
      await subscribe(root, 'devices/+/status');
      const will = { topic: 'devices/laptop/status', payload: Buffer.from('offline'), qos: 1 as const, retain: true };
      const device = await env.login('laptop', 'tcp', { clientId: 'device-laptop', will });
      let kicked = false;
      device.on('close', () => (kicked = true));

      await expect(env.login('alice', transport, { clientId: 'device-laptop' })).rejects.toMatchObject({ code: 5 });
      await expect(env.login('dev2', transport, { clientId: 'device-laptop' })).rejects.toMatchObject({ code: 5 });
      await expect(env.connect(transport, { clientId: 'device-laptop' })).rejects.toMatchObject({ code: 5 });
      // A takeover closes the device while the CONNECT is handled, before its CONNACK; a will fires only on a close.
      // The device's own publish, acknowledged now, shows its connection is still the same, and is the barrier.
      await device.publishAsync('devices/laptop/status', 'online', { qos: 1, retain: true });
      await statuses.waitFor((m) => m.topic === 'devices/laptop/status');
      expect(kicked).toBe(false);
      expect(statuses.messages.map((m) => m.text)).toEqual(['online']);
      expect(env.logs.messages()).toContain('Refused client id "device-laptop" to alice: it belongs to laptop');
    });

    it(`an id a user has used stays that user's: nobody else speaks on its reply topic (${transport})`, async () => {
      await start({ allowAnonymous: true });
      const bob = await env.login('bob', transport, { clientId: 'viewer-b0b0b0b0' });
      await bob.endAsync();
      await expect(env.login('alice', transport, { clientId: 'viewer-b0b0b0b0' })).rejects.toMatchObject({ code: 5 });
      await expect(env.connect(transport, { clientId: 'viewer-b0b0b0b0' })).rejects.toMatchObject({ code: 5 });
      await env.login('bob', transport, { clientId: 'viewer-b0b0b0b0' }); // its user comes back
    });

    it(`a device's publisher id is its user's before it first connects; the same user or an admin may take over (${transport})`, async () => {
      await start();
      await expect(env.login('alice', transport, { clientId: 'device-laptop' })).rejects.toMatchObject({ code: 5 });
      const first = await env.login('laptop', transport, { clientId: 'device-laptop' });
      const replaced = new Promise<void>((resolve) => first.once('close', () => resolve()));
      await env.login('laptop', transport, { clientId: 'device-laptop' }); // a restarted publisher replaces its old connection
      await replaced;
      await env.login('root', transport, { clientId: 'device-laptop' });
    });

    it(`a persistent session cannot be taken by another user: its queued messages stay its owner's (${transport})`, async () => {
      await start();
      const dash = await env.login('root', transport, { clientId: 'root-dash', clean: false });
      expect(await subscribe(dash, 'secret/#', 1)).toEqual([1]);
      await dash.endAsync();
      const root = await env.login('root');
      await root.publishAsync('secret/x', 'for root only', { qos: 1 });

      await expect(env.login('alice', transport, { clientId: 'root-dash', clean: false })).rejects.toMatchObject({ code: 5 });

      // Its owner comes back to it, with the queued message (read from the first packet on).
      const received: Received[] = [];
      const back = mqtt.connect(env.url(transport), { username: 'root', password: 'root-password', clientId: 'root-dash', clean: false, reconnectPeriod: 0 });
      teardown.add(back, (c) => c.end(true));
      back.on('message', (topic, payload, packet) => received.push({ topic, text: payload.toString(), retain: packet.retain, qos: packet.qos }));
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        back.once('connect', resolve);
        back.once('error', reject);
      });
      expect(connack.sessionPresent).toBe(true);
      await expect.poll(() => received.map((m) => m.text)).toEqual(['for root only']);
    });
  }
});

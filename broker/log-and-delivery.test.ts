import { beforeAll, describe, expect, it } from 'vitest';
import type { UsersFile } from './security/users';
import { type TestBroker, startTestBrokerFor, type TestBrokerOptions } from '../test-support/broker';
import { Inbox, retainedOn, subscribe } from '../test-support/mqtt';
import { rawRequest, upgradeHeaders } from '../test-support/raw-http';
import { makeUsers } from '../test-support/security';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 14, finding 11, replayed: forged log lines, unbounded subscribe logging, a retained reply, any
// WebSocket subprotocol echoed, a retained message above the subscription's QoS, refused filters logged as subscribed.
let users: UsersFile;
let env: TestBroker;
const teardown = teardownAfterEach();
beforeAll(async () => {
  users = (await makeUsers({ alice: 'viewer', root: 'admin' })).data;
});

async function start(options: TestBrokerOptions = {}) {
  env = await startTestBrokerFor(teardown, options);
  return env;
}

const controlCharacters = /[\u0000-\u001f\u007f]/;

describe('finding 11: smaller ones', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`escapes control characters in client ids, user names and replies in log lines (${transport})`, async () => {
      await start({ users, allowAnonymous: true });
      const forged = 'x\nINFO: Client connected: root';
      await env.connect(transport, { clientId: 'evil\r\nline' });
      const c = await env.connect(transport, { clientId: 'evil' });
      await c.publishAsync('clients/evil/messages', JSON.stringify({ text: `hi${forged}\u001b[2J`, ts: 1 }), { qos: 1 });
      await expect(env.connect(transport, { username: `mallory${forged}`, password: 'x' })).rejects.toMatchObject({ code: 4 });
      const messages = env.logs.messages();
      expect(messages.filter((m) => controlCharacters.test(m))).toEqual([]);
      expect(messages).toContain(`Client connected: evil\\r\\nline (${transport})`);
      expect(messages).toContain('From client evil: hix\\nINFO: Client connected: root\\u001b[2J');
      expect(messages).toContain('Failed login as "malloryx\\nINFO: Client connected: root" from 127.0.0.1');
    });

    it(`does not retain a reply: the contract says replies are not retained (${transport})`, async () => {
      await start();
      const live = await env.connect(transport);
      const liveInbox = new Inbox(live);
      await subscribe(live, 'clients/+/messages');
      const viewer = await env.connect(transport);
      await viewer.publishAsync('clients/v1/messages', JSON.stringify({ text: 'hello', ts: 1 }), { qos: 1, retain: true });
      await liveInbox.waitFor((m) => m.topic === 'clients/v1/messages');
      expect(await retainedOn(await env.connect(transport), 'clients/+/messages')).toEqual([]);
    });

    it(`delivers a retained QoS 1 message to a QoS 0 subscription at QoS 0 [MQTT-3.8.4-6] (${transport})`, async () => {
      await start();
      const device = await env.connect(transport);
      await device.publishAsync('devices/desk/status', 'online', { qos: 1, retain: true });
      const zero = await env.connect(transport);
      const zeroInbox = new Inbox(zero);
      await subscribe(zero, 'devices/+/status', 0);
      expect(await zeroInbox.waitFor((m) => m.topic === 'devices/desk/status')).toMatchObject({ retain: true, qos: 0 });
      const one = await env.connect(transport);
      const oneInbox = new Inbox(one);
      await subscribe(one, 'devices/desk/status', 1);
      expect(await oneInbox.waitFor((m) => m.topic === 'devices/desk/status')).toMatchObject({ retain: true, qos: 1 });
    });
  }

  it('rate-limits subscribe log lines', async () => {
    await start();
    const c = await env.connect('tcp');
    for (let i = 0; i < 100; i++) await subscribe(c, `home/${i}`, 0);
    expect(env.logs.messages().filter((m) => m.includes(' subscribed to ')).length).toBeLessThanOrEqual(20);
  });

  it('does not log a refused subscription as subscribed', async () => {
    await start({ users });
    const alice = await env.login('alice', 'tcp', { clientId: 'v1' });
    expect(await subscribe(alice, ['home/#', 'devices/#'])).toEqual([128, 1]);
    const messages = env.logs.messages();
    expect(messages).toContain('Refused v1 a subscription to home/#');
    expect(messages).toContain('v1 subscribed to devices/# (QoS 1)');
    expect(messages.filter((m) => m.includes('QoS 128'))).toEqual([]);
  });

  it('echoes only the mqtt and mqttv3.1 WebSocket subprotocols', async () => {
    await start();
    const port = env.broker.httpPort;
    const offered = async (protocol: string) => (await rawRequest(port, '/mqtt', upgradeHeaders(`127.0.0.1:${port}`, undefined, protocol))).headers['sec-websocket-protocol'];
    expect(await offered('mqtt')).toBe('mqtt');
    expect(await offered('evil, mqttv3.1')).toBe('mqttv3.1');
    expect(await offered('evil')).toBeUndefined();
  });
});

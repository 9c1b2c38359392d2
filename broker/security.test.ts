import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnectRaw } from 'node:tls';
import type { IClientOptions, MqttClient } from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import type { RunningBroker } from './broker';
import type { AclRule } from './security/rights';
import { TRANSPORTS, type TestBroker, type TestBrokerOptions, type TransportCase, brokersWithUsers } from '../test-support/broker';
import { closed, connect, Inbox, subscribe } from '../test-support/mqtt';

const brokers = brokersWithUsers({ laptop: 'device', alice: 'viewer', root: 'admin' });
let env: TestBroker;
let broker: RunningBroker;

async function start(options: TestBrokerOptions = {}) {
  env = await brokers.start(options);
  broker = env.broker;
  return env.logs;
}

function login(name: string, transport: TransportCase = 'tcp', extra: IClientOptions = {}): Promise<MqttClient> {
  return env.connect(transport, { username: name, password: `${name}-password`, ...extra });
}

const click = JSON.stringify({ x: 1, y: 2, button: 'left', pressed: true, ts: 1, seq: 0 });

describe('logins', () => {
  it('refuses a wrong password with CONNACK 4, no credentials with 5, and logs the attempt with the address', async () => {
    const logs = await start();
    await expect(connect(broker.mqttUrl, { username: 'alice', password: 'nope' })).rejects.toMatchObject({ code: 4 });
    await expect(connect(broker.wsUrl, { username: 'mallory', password: 'x' })).rejects.toMatchObject({ code: 4 });
    await expect(connect(broker.mqttUrl)).rejects.toMatchObject({ code: 5 });
    expect(logs.events('login_failed')).toContainEqual(expect.objectContaining({ username: 'alice', remote: '127.0.0.1' }));
    expect(logs.messages()).toContain('Failed login as "alice" from 127.0.0.1');
    expect(JSON.stringify(logs.lines())).not.toContain('nope'); // never a password in the logs
    expect(broker.metrics.failedLogins).toBe(2);
  });

  it('with --allow-anonymous, a client without credentials gets a viewer\'s rights', async () => {
    await start({ allowAnonymous: true });
    const anon = await env.connect('tcp', { clientId: 'anon1' });
    expect(await subscribe(anon, ['devices/#', 'home/#'])).toEqual([1, 128]);
  });
});

describe('rights by role, over every transport', () => {
  for (const transport of TRANSPORTS) {
    it(`device and viewer rights (${transport})`, async () => {
      await start({ withTls: transport === 'tls' });
      const root = await login('root');
      const inbox = new Inbox(root);
      await subscribe(root, '#');
      const device = await login('laptop', transport, { clientId: 'laptop-pub' });
      const viewer = await login('alice', transport, { clientId: 'viewer-a' });

      // device: its own devices/{user}/# only; subscribe clients/+/messages only
      expect(await subscribe(device, ['clients/+/messages', 'devices/#', 'clients/#'])).toEqual([1, 128, 128]);
      await device.publishAsync('devices/laptop/mouse/click', click, { qos: 1 });
      await device.publishAsync('devices/other/mouse/click', click, { qos: 1 });
      // viewer: subscribe devices/# and clients/+/messages; publish its own reply topic only
      expect(await subscribe(viewer, ['devices/#', 'devices/laptop/mouse/+', 'clients/+/messages', '#', '$SYS/#'])).toEqual([1, 1, 1, 128, 128]);
      await viewer.publishAsync('clients/viewer-a/messages', JSON.stringify({ text: 'mine', ts: 1 }), { qos: 1 });
      await viewer.publishAsync('clients/someone/messages', JSON.stringify({ text: 'not mine', ts: 1 }), { qos: 1 });
      await viewer.publishAsync('clients/viewer-a/messages', JSON.stringify({ text: 'barrier', ts: 1 }), { qos: 1 });

      await inbox.waitFor((m) => m.text.includes('barrier'));
      expect(inbox.messages.map((m) => m.topic).filter((t) => !t.startsWith('$SYS'))).toEqual(['devices/laptop/mouse/click', 'clients/viewer-a/messages', 'clients/viewer-a/messages']);
      expect(broker.metrics.rejectedPublishes.not_authorized).toBe(2);
      expect(broker.metrics.subscriptionsRefused).toBe(4);
    });
  }

  it('disconnects a client after repeated refused publishes', async () => {
    await start({ limits: { maxRefusedPublishes: 3 } });
    const viewer = await login('alice');
    const gone = closed(viewer);
    for (let i = 0; i < 3; i++) viewer.publish('devices/laptop/status', 'online', { qos: 0 });
    await gone;
    expect(broker.metrics.rejectedPublishes.not_authorized).toBe(3);
    expect(env.logs.events('client_disconnected_by_broker')).toEqual([expect.objectContaining({ topic: 'devices/laptop/status', reason: 'alice may not publish there' })]);
  });

  it('lets an admin read $SYS, and nobody publish there', async () => {
    await start();
    const root = await login('root');
    expect(await subscribe(root, '$SYS/#')).toEqual([1]);
    const gone = closed(root);
    root.publish('$SYS/fake', 'x');
    await gone;
    expect(broker.metrics.rejectedPublishes.reserved_topic).toBe(1);
  });
});

describe('ACL rules', () => {
  it('deny and allow rules come before the role, per role or user, with %c for the client id', async () => {
    const acl: AclRule[] = [
      { effect: 'deny', action: 'subscribe', topic: 'devices/secret/#', role: 'viewer' },
      { effect: 'allow', action: 'publish', topic: 'devices/%c/note', user: 'alice' },
    ];
    await start({ acl });
    const device = await login('root');
    const viewer = await login('alice', 'ws', { clientId: 'v9' });
    const inbox = new Inbox(viewer);
    expect(await subscribe(viewer, ['devices/secret/#', 'devices/#'])).toEqual([128, 1]);
    await device.publishAsync('devices/secret/x', 'hidden', { qos: 1 });
    await device.publishAsync('devices/open/x', 'shown', { qos: 1 });
    await viewer.publishAsync('devices/v9/note', 'allowed by the ACL', { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'devices/v9/note'); // sent last: the barrier
    expect(inbox.messages.map((m) => m.topic)).toEqual(['devices/open/x', 'devices/v9/note']);
  });
});

describe('WebSocket origins', () => {
  const upgrade = (url: string, origin?: string) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(url, 'mqtt', origin ? { origin } : {});
      ws.on('open', () => (ws.close(), resolve(101)));
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => {});
    });

  it('refuses other origins at the upgrade; its own, localhost and non-browser clients pass', async () => {
    await start({ users: null });
    const own = new URL(broker.httpUrl).origin;
    expect(await upgrade(broker.wsUrl, 'http://evil.example')).toBe(403);
    expect(await upgrade(broker.wsUrl, own)).toBe(101);
    expect(await upgrade(broker.wsUrl, 'http://localhost:5173')).toBe(101);
    expect(await upgrade(broker.wsUrl)).toBe(101);
    await broker.close();
    await start({ users: null, allowedOrigins: ['https://dash.example'] });
    expect(await upgrade(broker.wsUrl, 'https://dash.example')).toBe(101);
    expect(await upgrade(broker.wsUrl, 'http://localhost:5173')).toBe(403);
  });
});

describe('TLS', () => {
  it('serves mqtts, wss and https with the given certificate, and keeps plain MQTT on loopback', async () => {
    await start({ withTls: true });
    expect(broker.wsUrl).toMatch(/^wss:/);
    expect(broker.mqttsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const secure = await login('root', 'tls');
    const wss = await login('alice', 'ws');
    const inbox = new Inbox(wss);
    await subscribe(wss, 'devices/#');
    await secure.publishAsync('devices/laptop/mouse/click', click, { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'devices/laptop/mouse/click');
    // An untrusted certificate is refused by a careful client.
    await expect(
      new Promise((resolve, reject) => {
        const s = tlsConnectRaw({ host: '127.0.0.1', port: broker.mqttsPort! }, () => resolve(s.end()));
        s.on('error', reject);
      }),
    ).rejects.toThrow(/self.signed/);
  });
});

describe('limits', () => {
  it('cuts off a client that announces a packet over the size limit, before buffering it', async () => {
    const logs = await start({ users: null, limits: { maxPacketBytes: 1024 } });
    const oversize = Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]); // PUBLISH of 268 MB announced
    const socket = tcpConnect(broker.mqttPort, '127.0.0.1');
    socket.on('error', () => {});
    const gone = new Promise((resolve) => socket.once('close', resolve));
    const connack = new Promise((resolve) => socket.once('data', resolve));
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'big', clean: true, keepalive: 0 }));
    await connack;
    socket.write(oversize);
    await gone;
    expect(broker.metrics.oversizePackets).toBe(1);
    // The log names the client once its CONNECT was accepted, and says when there was none.
    const early = tcpConnect(broker.mqttPort, '127.0.0.1');
    early.on('error', () => {});
    const earlyGone = new Promise((resolve) => early.once('close', resolve));
    early.write(oversize);
    await earlyGone;
    expect(logs.events('client_cut_off')).toEqual([
      expect.objectContaining({ kind: 'oversize', clientId: 'big' }),
      expect.objectContaining({ kind: 'oversize', clientId: '(before CONNECT)' }),
    ]);
  });

  it('drops an oversized payload on a contract topic, and disconnects for an overlong topic', async () => {
    await start({ users: null, limits: { maxContractPayloadBytes: 100, maxTopicLength: 64 } });
    const c = await env.connect('tcp');
    await c.publishAsync('devices/laptop/mouse/click', JSON.stringify({ x: 1, y: 2, button: 'left', pressed: true, ts: 1, seq: 0, pad: 'x'.repeat(200) }), { qos: 1 });
    expect(broker.metrics.rejectedPublishes.too_large).toBe(1);
    const gone = closed(c);
    c.publish(`a/${'b'.repeat(100)}`, 'x');
    await gone;
    expect(broker.metrics.rejectedPublishes.bad_topic).toBe(1);
  });

  it('refuses connections past the per-address limit', async () => {
    await start({ users: null, limits: { maxConnectionsPerAddress: 3 } });
    for (let i = 0; i < 3; i++) await env.connect('tcp');
    await expect(connect(broker.mqttUrl, {}, 2000)).rejects.toThrow();
    expect(broker.metrics.connectionsRefused).toBeGreaterThanOrEqual(1);
  });

  it('closes a connection that sends no CONNECT in time', async () => {
    await start({ users: null, limits: { connectTimeoutMs: 300 } });
    const socket = tcpConnect(broker.mqttPort, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('close', resolve));
    // Closed by the broker (this side never ends it), before a byte came either way.
    expect(socket.bytesWritten).toBe(0);
    expect(socket.bytesRead).toBe(0);
    expect(broker.aedes.connectedClients).toBe(0);
  });

  it('disconnects a client that publishes faster than its rate allows', async () => {
    const logs = await start({ users: null, limits: { publishRate: 50, publishBurst: 100 } });
    const c = await env.connect('tcp');
    const gone = closed(c);
    for (let i = 0; i < 300; i++) c.publish('home/flood', String(i));
    await gone;
    expect(broker.metrics.rejectedPublishes.rate_limited).toBe(1);
    expect(logs.events('client_disconnected_by_broker').some((l) => /more than 50 publishes a second/.test(String(l.reason)))).toBe(true);
  });
});

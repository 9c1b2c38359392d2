import { createServer, connect as tcpConnect, type AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { beforeEach, describe, expect, it } from 'vitest';
import { PortInUseError } from './broker';
import { startTestBroker, TRANSPORTS, type TestBroker, type TransportCase, startTestBrokerFor, type TestBrokerOptions } from '../test-support/broker';
import { closed, Inbox, retainedOn, subscribe } from '../test-support/mqtt';
import { teardownAfterEach } from '../test-support/teardown';

let env: TestBroker;
const teardown = teardownAfterEach();

async function startEnv(options: TestBrokerOptions = {}) {
  env = await startTestBrokerFor(teardown, options);
  return env;
}

const client = (transport: TransportCase, options = {}) => env.connect(transport, options);

const click = JSON.stringify({ x: 800, y: 879, button: 'left', pressed: true, ts: Date.now(), seq: 1 });

// One suite, run over every transport (as MQTT.js runs its abstract client suite).
describe.each(TRANSPORTS)('MQTT over %s', (transport) => {
  beforeEach(() => startEnv({ withTls: transport === 'tls' }));

  it('carries messages both ways between two clients', async () => {
    const device = await client(transport);
    const viewer = await client(transport);
    const deviceInbox = new Inbox(device);
    const viewerInbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/#');
    await subscribe(device, 'clients/+/messages');

    await device.publishAsync('devices/laptop/mouse/click', click, { qos: 1 });
    const got = await viewerInbox.waitFor((m) => m.topic === 'devices/laptop/mouse/click');
    expect(JSON.parse(got.text)).toEqual(JSON.parse(click));

    const reply = JSON.stringify({ text: 'hello from the browser', ts: Date.now() });
    await viewer.publishAsync('clients/viewer1/messages', reply, { qos: 1 });
    expect((await deviceInbox.waitFor((m) => m.topic === 'clients/viewer1/messages')).text).toBe(reply);
    expect(env.logs.events('client_message')).toContainEqual(expect.objectContaining({ from: 'viewer1', text: 'hello from the browser' }));
  });

  it('gives a new subscriber the retained status and meta', async () => {
    const device = await client(transport);
    await device.publishAsync('devices/desk/status', 'online', { qos: 1, retain: true });
    const viewer = await client(transport);
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/+/status');
    const status = await inbox.waitFor((m) => m.topic === 'devices/desk/status');
    expect(status).toMatchObject({ text: 'online', retain: true });
  });

  it('publishes the last will when a client vanishes without DISCONNECT', async () => {
    const viewer = await client(transport);
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/+/status');
    const device = await client(transport, { will: { topic: 'devices/gone/status', payload: Buffer.from('offline'), qos: 1, retain: true } });
    device.stream.destroy(); // no DISCONNECT: the broker must send the will
    expect(await inbox.waitFor((m) => m.topic === 'devices/gone/status')).toMatchObject({ text: 'offline' });
  });

  it('lets free-form topics through with any payload', async () => {
    const sensor = await client(transport);
    const viewer = await client(transport);
    const inbox = new Inbox(viewer);
    await subscribe(viewer, '#');
    await sensor.publishAsync('devices/pi/temperature/celsius', '21.5', { qos: 0 });
    await sensor.publishAsync('home/anything', Buffer.from([0xff, 0x00]), { qos: 1 });
    expect((await inbox.waitFor((m) => m.topic === 'devices/pi/temperature/celsius')).text).toBe('21.5');
    await inbox.waitFor((m) => m.topic === 'home/anything');
  });
});

describe('TCP and WebSocket clients together', () => {
  beforeEach(() => startEnv());

  it('carries messages from a TCP client to a WebSocket client and back', async () => {
    const tcp = await client('tcp');
    const ws = await client('ws');
    const tcpInbox = new Inbox(tcp);
    const wsInbox = new Inbox(ws);
    await subscribe(ws, 'devices/#');
    await subscribe(tcp, 'clients/+/messages');
    await tcp.publishAsync('devices/laptop/mouse/click', click, { qos: 1 });
    await wsInbox.waitFor((m) => m.topic === 'devices/laptop/mouse/click');
    const reply = JSON.stringify({ text: 'back', ts: Date.now() });
    await ws.publishAsync('clients/viewer1/messages', reply, { qos: 1 });
    expect((await tcpInbox.waitFor((m) => m.topic === 'clients/viewer1/messages')).text).toBe(reply);
  });
});

describe('contract enforcement', () => {
  beforeEach(() => startEnv());

  it('drops and counts bad payloads on contract topics, logs why, and keeps the client connected', async () => {
    const publisher = await client('tcp');
    const viewer = await client('ws');
    const inbox = new Inbox(viewer);
    await subscribe(viewer, ['devices/#', 'clients/#']);

    await publisher.publishAsync('devices/laptop/mouse/click', '{"x":1}', { qos: 1 });
    await publisher.publishAsync('devices/laptop/mouse/move', 'not json', { qos: 0 });
    await publisher.publishAsync('devices/laptop/status', 'maybe', { qos: 1, retain: true });
    await publisher.publishAsync('clients/a.b/messages', JSON.stringify({ text: 'x', ts: 1 }), { qos: 1 });
    await publisher.publishAsync('devices/laptop/mouse/click', click, { qos: 1 }); // the good one still passes

    await inbox.waitFor((m) => m.topic === 'devices/laptop/mouse/click'); // the last one sent: the barrier
    expect(inbox.messages.map((m) => m.text)).toEqual([click]);
    expect(publisher.connected).toBe(true);

    const metrics = await (await fetch(env.broker.httpUrl + 'metrics')).text();
    expect(metrics).toContain('mqlive_publishes_rejected_total{reason="invalid_payload"} 4');
    const warnings = env.logs.lines().filter((l) => String(l.msg).startsWith('Dropped a publish'));
    expect(warnings.map((w) => w.reason)).toEqual([
      'missing field "y"',
      'payload is not valid JSON',
      'status must be the plain text "online" or "offline" (got "maybe")',
      expect.stringMatching(/topic clients\/a\.b\/messages: .*'\.'/),
    ]);

    // A refused retained status must not have been stored either.
    expect(await retainedOn(await client('tcp'), 'devices/laptop/status')).toEqual([]);
  });

  it('rate-limits the log of bad messages', async () => {
    const publisher = await client('tcp');
    for (let i = 0; i < 50; i++) publisher.publish('devices/x/mouse/move', 'bad', { qos: 0 });
    await publisher.publishAsync('devices/x/mouse/click', 'bad', { qos: 1 });
    const dropped = env.logs.events('publish_dropped');
    expect(dropped.length).toBe(10);
    expect(env.broker.metrics.rejectedPublishes.invalid_payload).toBe(51);
  });

  it('refuses publishes to $SYS/ topics', async () => {
    const publisher = await client('tcp');
    const disconnected = closed(publisher);
    publisher.publish('$SYS/fake', 'x', { qos: 0 });
    await disconnected;
    expect(env.broker.metrics.rejectedPublishes.reserved_topic).toBe(1);
  });

  it('answers an empty client id with a persistent session with CONNACK 0x02 [MQTT-3.1.3-8]', async () => {
    const socket = tcpConnect(env.broker.mqttPort, '127.0.0.1');
    socket.on('error', () => {}); // the broker closes it after the CONNACK
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const connack = new Promise<mqttPacket.IConnackPacket>((resolve) => parser.on('packet', (p) => resolve(p as mqttPacket.IConnackPacket)));
    socket.on('data', (d) => parser.parse(d));
    // Written by hand: mqtt-packet itself refuses to build this CONNECT.
    // prettier-ignore
    socket.write(Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0b0000_0000, 0, 30, 0, 0]));
    expect((await connack).returnCode).toBe(2);
    socket.destroy();
  });
});

describe('HTTP listener', () => {
  beforeEach(() => startEnv());

  it('answers /healthz and /metrics with clients per transport', async () => {
    await client('tcp');
    await client('ws');
    await client('ws');
    const health = await fetch(env.broker.httpUrl + 'healthz');
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', clients: 3 });
    const metrics = await (await fetch(env.broker.httpUrl + 'metrics')).text();
    expect(metrics).toContain('mqlive_clients_connected{transport="tcp"} 1');
    expect(metrics).toContain('mqlive_clients_connected{transport="ws"} 2');
    expect(metrics).toMatch(/mqlive_bytes_in_total \d+/);
  });

  it('says how to build the viewer when it is missing, and serves it once built', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqlive-viewer-'));
    const { broker: other } = await startEnv({ viewerDir: dir });
    try {
      const missing = await fetch(other.httpUrl);
      expect(missing.status).toBe(503);
      expect(await missing.text()).toContain('npm run build:viewer');
      await writeFile(join(dir, 'index.html'), '<!doctype html><title>viewer</title>');
      const page = await fetch(other.httpUrl);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>viewer</title>');
      // A path that climbs out of the viewer folder stays inside it.
      expect((await fetch(other.httpUrl + '..%2f..%2fetc%2fpasswd')).status).toBe(404);
      expect((await fetch(other.httpUrl + 'nope.js')).status).toBe(404);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});

describe('startup and shutdown', () => {
  beforeEach(() => startEnv());

  it('names the port and the flag when a port is in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const attempt = startTestBroker({ mqttPort: port });
      await expect(attempt).rejects.toThrow(PortInUseError);
      await expect(attempt).rejects.toThrow(`port ${port} on 127.0.0.1 is already in use`);
      await expect(startTestBroker({ httpPort: port })).rejects.toThrow('--http-port');
    } finally {
      blocker.close();
    }
  });

  it('close() disconnects every client', async () => {
    const tcp = await client('tcp');
    const ws = await client('ws');
    const closes = [tcp, ws].map(closed);
    expect(env.broker.aedes.connectedClients).toBe(2);
    await env.broker.close();
    await Promise.all(closes);
    expect([tcp.connected, ws.connected]).toEqual([false, false]);
    expect(env.broker.aedes.connectedClients).toBe(0);
  });
});

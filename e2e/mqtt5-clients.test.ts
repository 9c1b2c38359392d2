import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type IClientSubscribeOptions, type IConnackPacket, type MqttClient, type Packet } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, Inbox, RETAINED_MARKER, retainedOn, sleep } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, spawnProcess, type Spawned } from '../test-support/processes';
import { RawClient } from '../test-support/raw-client';
import { makeUsers } from '../test-support/security';
import { requirePythonModule, requireTool } from '../test-support/tools';

// Issue 27, "real clients in tests": mosquitto_pub/mosquitto_sub -V mqttv5, MQTT.js with protocolVersion 5 and
// Python paho-mqtt (the library Home Assistant's MQTT integration uses) against the compiled broker, with a users
// file as users run it. Every wait is bounded; "nothing else came" is shown by a barrier message, not a pause.
const run = promisify(execFile);

let broker: Spawned;
let ready: ReadyEvent;
const open: { end(force?: boolean): unknown }[] = [];
const started: Spawned[] = [];

beforeAll(async () => {
  requireTool('mosquitto_sub', 'mosquitto-clients');
  requirePythonModule('paho.mqtt', 'python3-paho-mqtt');
  const { file } = await makeUsers({ root: 'admin', dev1: 'device' });
  broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--users', file]);
  ready = await brokerReady(broker, 20_000);
  // The marker retainedOn and retainedVia end on.
  const root = await v5('marker-setter');
  await root.client.publishAsync(RETAINED_MARKER, 'marker', { qos: 1, retain: true });
});

afterAll(async () => {
  for (const c of open) c.end(true);
  for (const p of started) await p.stop('SIGKILL');
  await broker?.stop('SIGKILL');
});

const ROOT_LOGIN = { username: 'root', password: 'root-password' };
const port = () => new URL(ready.mqtt).port;

/** An MQTT.js client speaking MQTT 5 as `root` (unless `options` say otherwise), with its CONNACK, an Inbox and every packet it received. */
async function v5(clientId: string, options: IClientOptions = {}) {
  const client = mqtt.connect(ready.mqtt, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, clientId, ...ROOT_LOGIN, ...options });
  open.push(client);
  const inbox = new Inbox(client);
  const packets: Packet[] = [];
  client.on('packetreceive', (p) => packets.push(p));
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no CONNACK for ${clientId} within 5 s`)), 5000);
    client.once('connect', (p) => (clearTimeout(timer), resolve(p)));
    client.once('error', (e) => (clearTimeout(timer), reject(e)));
  });
  return { client, inbox, packets, connack };
}

/**
 * Subscribes with per-filter options and returns the retained messages the SUBSCRIBE brought: the same packet asks
 * for RETAINED_MARKER last (retain handling 0), whose copy comes after the filters' retained messages (see
 * retainedOn in test-support/mqtt.ts for why the order holds).
 */
async function retainedVia(client: MqttClient, inbox: Inbox, filters: Record<string, IClientSubscribeOptions>) {
  const before = inbox.messages.length;
  const markers = () => inbox.messages.slice(before).filter((m) => m.topic === RETAINED_MARKER);
  await client.subscribeAsync({ ...filters, [RETAINED_MARKER]: { qos: 1, rh: 0 } });
  await inbox.waitFor(() => markers().length >= 1, 5000, 'the retained marker');
  const got = inbox.messages.slice(before);
  return got.slice(0, got.indexOf(markers()[0]!)).filter((m) => m.retain);
}

/** Runs `mosquitto_pub -V mqttv5` as root, bounded. */
async function mosquittoPub(args: string[]) {
  await run('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', port(), '-u', 'root', '-P', 'root-password', '-q', '1', ...args], { timeout: 10_000 });
}

/** `mosquitto_sub -V mqttv5` printing one line per message: retain flag, topic, content type, user properties, payload. */
function mosquittoSub(clientId: string, topics: string[], extra: string[] = []): Spawned {
  const topicArgs = topics.flatMap((t) => ['-t', t]);
  const sub = spawnProcess('mosquitto_sub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', port(), '-u', 'root', '-P', 'root-password', '-i', clientId, '-q', '1', '-W', '30', '-F', '%r|%t|%C|%P|%p', ...extra, ...topicArgs]);
  started.push(sub);
  return sub;
}

describe('mosquitto_pub and mosquitto_sub with -V mqttv5', () => {
  it('a retained message published with a user property reaches a later mosquitto_sub retained, with its property', async () => {
    await mosquittoPub(['-t', 'mosq5/retained', '-m', 'kept', '-r', '-D', 'publish', 'user-property', 'origin', 'mosquitto_pub']);
    const sub = mosquittoSub('mosq5-retained', ['mosq5/retained']);
    const [line] = await sub.waitForOutput(/^.*\|mosq5\/retained\|.*$/m);
    expect(line.split('|')).toEqual(['1', 'mosq5/retained', '', 'origin:mosquitto_pub', 'kept']);
    await sub.stop('SIGKILL');
  });

  it('a live message keeps its content type and user property; the barrier after it comes next, nothing between', async () => {
    const sub = mosquittoSub('mosq5-live', [RETAINED_MARKER, 'mosq5/live']);
    await sub.waitForOutput(/^1\|barrier\/retained\|/m); // subscribed: the live messages below reach it
    await mosquittoPub(['-t', 'mosq5/live', '-m', '{"n":1}', '-D', 'publish', 'content-type', 'application/json', '-D', 'publish', 'user-property', 'k', 'v']);
    await mosquittoPub(['-t', 'mosq5/live', '-m', 'barrier']);
    await sub.waitForOutput(/\|barrier$/m);
    const lines = sub.output().trim().split('\n').filter((l) => l.includes('|mosq5/live|'));
    expect(lines).toEqual(['0|mosq5/live|application/json|k:v|{"n":1}', '0|mosq5/live|||barrier']);
    await sub.stop('SIGKILL');
  });

  it('--retain-as-published: a retained message published while subscribed arrives with its retain flag (without it: 0)', async () => {
    const asPublished = mosquittoSub('mosq5-rap', [RETAINED_MARKER, 'mosq5/rap'], ['--retain-as-published']);
    const plain = mosquittoSub('mosq5-norap', [RETAINED_MARKER, 'mosq5/rap']);
    await asPublished.waitForOutput(/^1\|barrier\/retained\|/m);
    await plain.waitForOutput(/^1\|barrier\/retained\|/m);
    await mosquittoPub(['-t', 'mosq5/rap', '-m', 'live-retained', '-r']);
    await mosquittoPub(['-t', 'mosq5/rap', '-m', 'barrier']);
    for (const sub of [asPublished, plain]) await sub.waitForOutput(/\|barrier$/m);
    const lines = (s: Spawned) => s.output().trim().split('\n').filter((l) => l.includes('|mosq5/rap|'));
    expect(lines(asPublished)).toEqual(['1|mosq5/rap|||live-retained', '0|mosq5/rap|||barrier']);
    expect(lines(plain)).toEqual(['0|mosq5/rap|||live-retained', '0|mosq5/rap|||barrier']);
  });
});

describe('MQTT.js with protocolVersion 5', () => {
  it('CONNACK: success, with the broker\'s limits and shared subscriptions available', async () => {
    const { connack } = await v5('js-connack', { properties: { sessionExpiryInterval: 60, receiveMaximum: 10, maximumPacketSize: 65536 } });
    expect(connack.reasonCode).toBe(0);
    expect(connack.sessionPresent).toBe(false);
    expect(connack.properties).toEqual({ sharedSubscriptionAvailable: true, topicAliasMaximum: 10, maximumPacketSize: 256 * 1024, receiveMaximum: 20 });
  });

  it('an empty client id with clean start gets CONNACK 0 with an assigned client identifier (MQTT-3.1.3-6/7)', async () => {
    const { client, connack } = await RawClient.open(ready, 'tcp', { clientId: '', clean: true, protocolVersion: 5, ...ROOT_LOGIN }, open);
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.assignedClientIdentifier).toMatch(/.+/);
    client.end();
  });

  it('no local: a client does not get back what it publishes on its no-local subscription; others do, and so does it on a plain one', async () => {
    const self = await v5('js-nl');
    const other = await v5('js-nl-other');
    await self.client.subscribeAsync({ 'nl/self': { qos: 1, nl: true }, 'nl/plain': { qos: 1 } });
    await other.client.subscribeAsync('nl/self', { qos: 1 });
    await self.client.publishAsync('nl/self', 'own', { qos: 1 });
    await self.client.publishAsync('nl/plain', 'own-plain', { qos: 1 });
    await other.client.publishAsync('nl/self', 'barrier', { qos: 1 });
    await self.inbox.waitFor((m) => m.text === 'barrier');
    await other.inbox.waitFor((m) => m.text === 'barrier');
    expect(self.inbox.messages.map((m) => m.text).sort()).toEqual(['barrier', 'own-plain']);
    expect(other.inbox.messages.map((m) => m.text)).toEqual(['own', 'barrier']);
  });

  it('no local on a persistent session (session expiry > 0): its own publish, sent with others, costs it neither its connection nor other messages', async () => {
    const self = await v5('js-nl-persistent', { properties: { sessionExpiryInterval: 300 } });
    let closed = false;
    self.client.on('close', () => (closed = true));
    await self.client.subscribeAsync({ 'nlp/self': { qos: 1, nl: true }, 'nlp/other': { qos: 1 } });
    // Sent together, as a client that does not wait for each PUBACK does.
    self.client.publish('nlp/other', 'o1', { qos: 1 });
    self.client.publish('nlp/self', 'own', { qos: 1 });
    self.client.publish('nlp/other', 'o2', { qos: 1 });
    const barrier = await v5('js-nl-persistent-barrier');
    await barrier.client.publishAsync('nlp/other', 'barrier', { qos: 1 });
    await self.inbox.waitFor((m) => m.text === 'barrier', 5000, 'the barrier, connection still open');
    expect(self.inbox.messages.map((m) => m.text)).toEqual(['o1', 'o2', 'barrier']);
    expect(closed).toBe(false);
  });

  it('retain as published: a retained message published while subscribed keeps its retain flag with rap, loses it without', async () => {
    const rap = await v5('js-rap');
    const plain = await v5('js-norap');
    await rap.client.subscribeAsync('rap/t', { qos: 1, rap: true });
    await plain.client.subscribeAsync('rap/t', { qos: 1, rap: false });
    const publisher = await v5('js-rap-pub');
    await publisher.client.publishAsync('rap/t', 'live-retained', { qos: 1, retain: true });
    await publisher.client.publishAsync('rap/t', 'barrier', { qos: 1 });
    for (const c of [rap, plain]) await c.inbox.waitFor((m) => m.text === 'barrier');
    expect(rap.inbox.messages.map((m) => [m.text, m.retain])).toEqual([['live-retained', true], ['barrier', false]]);
    expect(plain.inbox.messages.map((m) => [m.text, m.retain])).toEqual([['live-retained', false], ['barrier', false]]);
  });

  it('retain handling: 0 sends retained messages at every subscribe, 1 only when the subscription is new, 2 never', async () => {
    const publisher = await v5('js-rh-pub');
    await publisher.client.publishAsync('rh/t', 'kept', { qos: 1, retain: true });
    const texts = (ms: { text: string }[]) => ms.map((m) => m.text);

    const never = await v5('js-rh2');
    expect(texts(await retainedVia(never.client, never.inbox, { 'rh/t': { qos: 1, rh: 2 } }))).toEqual([]);

    const once = await v5('js-rh1');
    expect(texts(await retainedVia(once.client, once.inbox, { 'rh/t': { qos: 1, rh: 1 } }))).toEqual(['kept']);
    expect(texts(await retainedVia(once.client, once.inbox, { 'rh/t': { qos: 1, rh: 1 } }))).toEqual([]);

    const always = await v5('js-rh0');
    expect(texts(await retainedVia(always.client, always.inbox, { 'rh/t': { qos: 1, rh: 0 } }))).toEqual(['kept']);
    expect(texts(await retainedVia(always.client, always.inbox, { 'rh/t': { qos: 1, rh: 0 } }))).toEqual(['kept']);
  });

  it('a subscription identifier comes back on the messages its subscription matches, and not on another subscription', async () => {
    const sub = await v5('js-subid');
    await sub.client.subscribeAsync('subid/with', { qos: 1, properties: { subscriptionIdentifier: 42 } });
    await sub.client.subscribeAsync('subid/without', { qos: 1 });
    const publisher = await v5('js-subid-pub');
    await publisher.client.publishAsync('subid/with', 'a', { qos: 1 });
    await publisher.client.publishAsync('subid/without', 'b', { qos: 1 });
    await sub.inbox.waitFor((m) => m.text === 'b');
    const ids = (text: string) => [sub.inbox.messages.find((m) => m.text === text)?.properties?.subscriptionIdentifier ?? []].flat();
    expect(ids('a')).toEqual([42]);
    expect(ids('b')).toEqual([]);
  });

  it('message expiry: a retained message with a 1 s expiry is delivered with its interval, and is gone for a subscriber 2 s later', async () => {
    const publisher = await v5('js-exp-pub');
    await publisher.client.publishAsync('exp/short', 'short-lived', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await publisher.client.publishAsync('exp/kept', 'kept', { qos: 1, retain: true });
    const early = await v5('js-exp-early');
    const now = await retainedVia(early.client, early.inbox, { 'exp/+': { qos: 1 } });
    expect(now.map((m) => m.text).sort()).toEqual(['kept', 'short-lived']);
    const interval = now.find((m) => m.text === 'short-lived')!.properties?.messageExpiryInterval;
    expect(interval).toBeGreaterThanOrEqual(0);
    expect(interval).toBeLessThanOrEqual(1);
    // The one wait on a clock: expiry is counted in whole seconds.
    await sleep(2100);
    const late = await v5('js-exp-late');
    expect((await retainedVia(late.client, late.inbox, { 'exp/+': { qos: 1 } })).map((m) => m.text)).toEqual(['kept']);
  });

  it('user properties, content type and payload format reach a subscriber unchanged', async () => {
    const sub = await v5('js-props');
    await sub.client.subscribeAsync('props/t', { qos: 1 });
    const publisher = await v5('js-props-pub');
    const properties = { userProperties: { origin: 'mqtt.js', tag: ['a', 'b'], 'ключ': 'значение' }, contentType: 'application/json', payloadFormatIndicator: true };
    await publisher.client.publishAsync('props/t', '{"x":1}', { qos: 1, properties });
    const got = await sub.inbox.waitFor((m) => m.topic === 'props/t');
    expect(got.properties).toEqual(properties);
  });

  it('request and response: a response topic and correlation data carried to a responder, and its answer back', async () => {
    const responder = await v5('js-responder');
    await responder.client.subscribeAsync('svc/echo/request', { qos: 1 });
    responder.client.on('message', (topic, payload, packet) => {
      const { responseTopic, correlationData } = packet.properties ?? {};
      if (topic === 'svc/echo/request' && responseTopic) void responder.client.publishAsync(responseTopic, `echo:${payload.toString()}`, { qos: 1, properties: { correlationData } });
    });
    const requester = await v5('js-requester');
    await requester.client.subscribeAsync('svc/echo/reply/js-requester', { qos: 1 });
    const correlationData = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    await requester.client.publishAsync('svc/echo/request', 'hello', { qos: 1, properties: { responseTopic: 'svc/echo/reply/js-requester', correlationData } });
    const reply = await requester.inbox.waitFor((m) => m.topic === 'svc/echo/reply/js-requester');
    expect(reply.text).toBe('echo:hello');
    expect(Buffer.from(reply.properties!.correlationData!)).toEqual(correlationData);
  });
});

describe('Python paho-mqtt connecting the way Home Assistant does (test-support/ha-like-client.py)', () => {
  it('clean start, session expiry and a retained will: its retained discovery configs come back, a state from MQTT.js reaches it, its own does not, and SIGKILL delivers its will', async () => {
    const availability = 'mqlive-ha/availability';
    const state = 'homeassistant/sensor/mqlive_node/state';
    const watcher = await v5('ha-watcher');
    await watcher.client.subscribeAsync(availability, { qos: 1 });

    const ha = spawnProcess('/usr/bin/python3', ['test-support/ha-like-client.py', '--port', port(), ...['--username', 'root', '--password', 'root-password'], '--client-id', 'ha-like', '--node', 'mqlive_node', '--availability', availability]);
    started.push(ha);
    const connected = await ha.waitForEvent('connected');
    expect(connected).toMatchObject({ reasonCode: 0, sessionPresent: false });
    // Its last step: its own state, published once both subscriptions are acknowledged. (The waits of one process
    // share a cursor, so the events before it are read from the whole output.)
    await ha.waitForEvent('published', { where: { topic: state } });
    expect(ha.events('subscribed')).toEqual([
      { event: 'subscribed', to: 'configs', reasonCodes: [1] },
      { event: 'subscribed', to: 'states', reasonCodes: [1] },
    ]);
    await watcher.inbox.waitFor((m) => m.topic === availability && m.text === 'online');
    const publisher = await v5('ha-state-publisher');
    await publisher.client.publishAsync(state, '{"temperature":21.5}', { qos: 1, properties: { userProperties: { source: 'mqtt.js' } } });
    const fromJs = await ha.waitForEvent('message', { where: { topic: state } });
    expect(fromJs).toMatchObject({ payload: '{"temperature":21.5}', retain: false, properties: { UserProperty: [['source', 'mqtt.js']] } });
    // Its own state was acknowledged before MQTT.js published: had no local let it through, it would have come first.
    expect(ha.events('message').filter((e) => e.topic === state)).toHaveLength(1);
    // Its retained configs came back once each, retained, as published (JSON). (Polled, bounded: they are streamed
    // after the first SUBACK, on a path of their own.)
    const configs = () => ha.events('message').filter((e) => String(e.topic).endsWith('/config'));
    await expect.poll(() => configs().length).toBeGreaterThanOrEqual(2);
    expect(configs().map((e) => [e.topic, e.retain, e.qos]).sort()).toEqual(
      ['humidity', 'temperature'].map((kind) => [`homeassistant/sensor/mqlive_node/${kind}/config`, true, 1]),
    );
    for (const e of configs()) expect(JSON.parse(String(e.payload))).toMatchObject({ state_topic: state, availability_topic: availability });
    expect(ha.events('disconnected')).toEqual([]);
    expect(ha.events('connected')).toHaveLength(1); // never dropped and reconnected

    await ha.stop('SIGKILL');
    await watcher.inbox.waitFor((m) => m.topic === availability && m.text === 'offline');
    const late = await connect(ready.mqtt, { clientId: 'ha-late', ...ROOT_LOGIN });
    open.push(late);
    expect((await retainedOn(late, availability, RETAINED_MARKER)).map((m) => m.text)).toEqual(['offline']);
  });
});

describe('a users file: MQTT 5 reason codes', () => {
  it('a wrong password gets CONNACK 0x86 (bad user name or password) or 0x87 (not authorized)', async () => {
    const refused = await v5('wrong-password', { username: 'root', password: 'not-the-password' }).then(
      () => null,
      (error: { code?: number }) => error.code,
    );
    expect([0x86, 0x87]).toContain(refused);
  });

  it('a QoS 1 publish the user has no right to gets PUBACK >= 0x80, and reaches no subscriber', async () => {
    const watcher = await v5('deny-watcher');
    await watcher.client.subscribeAsync('deny/dev1', { qos: 1 });
    const device = await v5('dev1', { username: 'dev1', password: 'dev1-password' });
    // A device may publish under devices/dev1/ only.
    await device.client.publishAsync('deny/dev1', 'not allowed', { qos: 1 }).catch(() => undefined);
    await watcher.client.publishAsync('deny/dev1', 'barrier', { qos: 1 });
    await watcher.inbox.waitFor((m) => m.text === 'barrier');
    expect(watcher.inbox.messages.map((m) => m.text)).toEqual(['barrier']);
    const puback = device.packets.find((p) => p.cmd === 'puback');
    expect(puback).toBeDefined();
    expect((puback as { reasonCode?: number }).reasonCode).toBeGreaterThanOrEqual(0x80);
  });

  it('a subscription the user has no right to gets SUBACK >= 0x80', async () => {
    const device = await v5('dev1-sub', { username: 'dev1', password: 'dev1-password' });
    const granted = await device.client.subscribeAsync('devices/#', { qos: 1 }).then(
      (g) => g.map((s) => s.qos as number),
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
    );
    expect(granted).toHaveLength(1);
    expect(granted![0]).toBeGreaterThanOrEqual(0x80);
  });
});

import type { IClientOptions, MqttClient } from 'mqtt';
import type mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, connectWithInbox, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { RawClient } from '../test-support/raw-client';
import { makeUsers } from '../test-support/security';

// Log lines are read from the broker's output, which may come after the packets: they are polled for (bounded).
// Issue 26, "the session caps can be walked around": against the compiled broker with a users file, over TCP and
// WebSocket. A session that stays online and never acknowledges, big payloads, many persistent sessions of one
// user, and QoS 2 messages never released each find a cap that holds: what a session keeps is what is resent
// at its reconnect, so each test counts that, and ends on a barrier message published after the others.
const QUEUED = 5;
const QUEUED_BYTES = 2000;
const SESSIONS = 2;
const AWAITING_PUBREL = 3;
const LIMIT_FLAGS = [
  ['--max-queued-messages', QUEUED],
  ['--max-queued-bytes', QUEUED_BYTES],
  ['--max-sessions-per-user', SESSIONS],
  ['--max-awaiting-pubrel', AWAITING_PUBREL],
].flatMap(([flag, value]) => [String(flag), String(value)]);

let broker: Spawned;
let ready: ReadyEvent;
const open: { end(force?: boolean): unknown }[] = [];

const USERS = ['root', 'qtcp', 'qws', 'btcp', 'bws', 'stcp', 'sws', 'ptcp', 'pws', 'rtcp', 'rws'];

beforeAll(async () => {
  const { file } = await makeUsers(Object.fromEntries(USERS.map((name) => [name, 'admin'])));
  broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--users', file, ...LIMIT_FLAGS]);
  ready = await brokerReady(broker, 20_000);
});

afterAll(async () => {
  for (const c of open) c.end(true);
  await broker?.stop('SIGKILL');
});

const login = (name: string) => ({ username: name, password: `${name}-password` });

async function loginClient(url: string, options: IClientOptions): Promise<MqttClient> {
  const client = await connect(url, options);
  open.push(client);
  return client;
}

/** Connects an MQTT.js client with an Inbox attached before its CONNECT goes out, so a resent queue is all seen. */
const withInbox = (url: string, options: IClientOptions) => connectWithInbox(url, options, open);

/** Counts in mqlive_caps_hit_total for one cap. */
async function capsHit(cap: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', ready.http))).text();
  const m = text.match(new RegExp(`^mqlive_caps_hit_total\\{cap="${cap}"\\} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : -1;
}

describe.each(['tcp', 'ws'] as const)('over %s', (transport) => {
  const url = () => (transport === 'tcp' ? ready.mqtt : ready.ws);

  it(`a persistent session that stays online and never sends PUBACK keeps at most --max-queued-messages (${QUEUED}): the oldest are dropped, logged and counted`, async () => {
    const clientId = `noack-${transport}`;
    const topic = `caps/noack/${transport}`;
    const session = { clientId, clean: false, ...login(`q${transport}`) };
    const raw = await RawClient.subscribed(ready, transport, session, topic, 1, open);
    const publisher = await loginClient(ready.mqtt, login('root'));
    for (let i = 0; i < 20; i++) await publisher.publishAsync(topic, String(i), { qos: 1 });
    // Online, every message is delivered (none lost): the cap bounds what is kept for it unacknowledged.
    await raw.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === '19', 'the last message');
    expect(raw.payloads()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    raw.end();
    await raw.closed;

    const inbox = await withInbox(url(), session);
    await inbox.waitFor((m) => m.text === '19'); // resent in order: once the newest is here, all that was kept is
    await publisher.publishAsync(topic, 'barrier', { qos: 1 });
    await inbox.waitFor((m) => m.text === 'barrier');
    expect(inbox.messages.map((m) => m.text)).toEqual(['15', '16', '17', '18', '19', 'barrier']);
    await expect.poll(() => broker.events('cap_hit').filter((e) => e.clientId === clientId && e.cap === 'queued_messages').length).toBe(1); // once, not per message
    expect(await capsHit('queued_messages')).toBeGreaterThanOrEqual(15);
  });

  it('a QoS 2 subscriber that acknowledges late is not cut off when the cap drops messages it has in flight (found by an attack round)', async () => {
    const clientId = `late-${transport}`;
    const topic = `caps/late/${transport}`;
    const raw = await RawClient.subscribed(ready, transport, { clientId, clean: false, ...login(`r${transport}`) }, topic, 2, open);
    const publisher = await loginClient(ready.mqtt, login('root'));
    const count = 4 * QUEUED;
    for (let i = 0; i < count; i++) await publisher.publishAsync(topic, String(i), { qos: 2 });
    await raw.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === String(count - 1), 'the last message');
    // Only now does it acknowledge them all (PUBREC): the oldest were dropped meanwhile by the queued cap.
    const ids = raw.received.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish').map((p) => p.messageId!);
    for (const messageId of ids) raw.send({ cmd: 'pubrec', messageId });
    await raw.waitFor((p) => p.cmd === 'pubrel' && p.messageId === ids.at(-1), 'a PUBREL for the last message');
    for (const p of raw.received.filter((r) => r.cmd === 'pubrel')) raw.send({ cmd: 'pubcomp', messageId: p.messageId! });
    // Still connected and served: a new message reaches it.
    await publisher.publishAsync(topic, 'after', { qos: 2 });
    await raw.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'after', 'the message after');
    expect(broker.events('client_disconnected').filter((e) => e.clientId === clientId)).toEqual([]);
    raw.end();
  });

  it(`a session keeps at most --max-queued-bytes (${QUEUED_BYTES}) of payload, queued and in flight: the oldest are dropped`, async () => {
    const clientId = `bytes-${transport}`;
    const topic = `caps/bytes/${transport}`;
    const session = { clientId, clean: false, ...login(`b${transport}`) };
    // In flight: online, never acknowledging.
    const raw = await RawClient.subscribed(ready, transport, session, topic, 1, open);
    const publisher = await loginClient(ready.mqtt, login('root'));
    const payload = (i: number) => `${i}:`.padEnd(700, 'x'); // three of them are over the cap, two are not
    await publisher.publishAsync(topic, payload(0), { qos: 1 });
    await publisher.publishAsync(topic, payload(1), { qos: 1 });
    await raw.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === payload(1), 'the second message');
    raw.end();
    await raw.closed;
    // Then queued while offline.
    for (let i = 2; i < 6; i++) await publisher.publishAsync(topic, payload(i), { qos: 1 });

    const inbox = await withInbox(url(), session);
    await inbox.waitFor((m) => m.text === payload(5));
    await publisher.publishAsync(topic, 'barrier', { qos: 1 });
    await inbox.waitFor((m) => m.text === 'barrier');
    expect(inbox.messages.map((m) => m.text.split(':')[0])).toEqual(['4', '5', 'barrier']);
    await expect.poll(() => broker.events('cap_hit').filter((e) => e.clientId === clientId && e.cap === 'queued_bytes').length).toBe(1);
    expect(await capsHit('queued_bytes')).toBeGreaterThanOrEqual(4);
  });

  it(`one user holds at most --max-sessions-per-user (${SESSIONS}) persistent sessions: one more is refused with CONNACK 3, the others keep working`, async () => {
    const user = `s${transport}`;
    const topic = `caps/sessions/${transport}`;
    const first = await loginClient(url(), { clientId: `${user}-1`, clean: false, ...login(user) });
    const second = await loginClient(url(), { clientId: `${user}-2`, clean: false, ...login(user) });
    const inboxes = [new Inbox(first), new Inbox(second)];
    expect(await subscribe(first, topic)).toEqual([1]);
    expect(await subscribe(second, topic)).toEqual([1]);
    await loginClient(url(), { clientId: `${user}-clean`, clean: true, ...login(user) }); // clean sessions are not counted

    const { client: third, returnCode } = await RawClient.open(ready, transport, { clientId: `${user}-3`, clean: false, ...login(user) }, open);
    expect(returnCode).toBe(3);
    await third.waitForClose();
    await expect.poll(() => broker.events('cap_hit').filter((e) => e.clientId === `${user}-3`)).toEqual([expect.objectContaining({ cap: 'sessions_per_user', username: user })]);
    expect(await capsHit('sessions_per_user')).toBeGreaterThanOrEqual(1);

    // The sessions it has are untouched, and one of them may come back.
    const publisher = await loginClient(ready.mqtt, login('root'));
    await publisher.publishAsync(topic, 'still here', { qos: 1 });
    for (const inbox of inboxes) await inbox.waitFor((m) => m.text === 'still here');
    first.end(true);
    const back = await withInbox(url(), { clientId: `${user}-1`, clean: false, ...login(user) });
    await publisher.publishAsync(topic, 'back', { qos: 1 });
    await back.waitFor((m) => m.text === 'back');

    // A clean CONNECT with a session's id ends that session, which makes room for another.
    await loginClient(url(), { clientId: `${user}-2`, clean: true, ...login(user) });
    const { returnCode: now } = await RawClient.open(ready, transport, { clientId: `${user}-3`, clean: false, ...login(user) }, open);
    expect(now).toBe(0);
  });

  it(`a client with --max-awaiting-pubrel (${AWAITING_PUBREL}) QoS 2 messages awaiting PUBREL is disconnected at one more, counted across a reconnect of its session`, async () => {
    const clientId = `pubrel-${transport}`;
    const session = { clientId, clean: false, ...login(`p${transport}`) };
    const qos2 = (messageId: number): mqttPacket.Packet => ({ cmd: 'publish', topic: `caps/pubrel/${transport}`, payload: Buffer.alloc(1000), qos: 2, messageId, retain: false, dup: false });
    const { client: first } = await RawClient.open(ready, transport, session, open);
    for (let id = 1; id <= AWAITING_PUBREL - 1; id++) first.send(qos2(id));
    await first.waitFor((p) => p.cmd === 'pubrec' && p.messageId === AWAITING_PUBREL - 1, 'the last PUBREC');
    first.end();
    await first.closed;

    const { client: again } = await RawClient.open(ready, transport, session, open);
    again.send(qos2(100)); // the cap's last place: the session holds the two from before
    await again.waitFor((p) => p.cmd === 'pubrec' && p.messageId === 100, 'PUBREC 100');
    again.send(qos2(101));
    await again.waitForClose();
    expect(again.received.some((p) => p.cmd === 'pubrec' && p.messageId === 101)).toBe(false);
    await expect.poll(() => broker.events('cap_hit').filter((e) => e.clientId === clientId)).toEqual([expect.objectContaining({ cap: 'awaiting_pubrel' })]);
    expect(await capsHit('awaiting_pubrel')).toBeGreaterThanOrEqual(1);

    // One that completes its handshakes is never stopped, however many it sends.
    const { client: good } = await RawClient.open(ready, transport, { clientId: `pubrel-good-${transport}`, clean: true, ...login(`p${transport}`) }, open);
    for (let id = 1; id <= 3 * AWAITING_PUBREL; id++) {
      good.send(qos2(id));
      await good.waitFor((p) => p.cmd === 'pubrec' && p.messageId === id, `PUBREC ${id}`);
      good.send({ cmd: 'pubrel', messageId: id });
      await good.waitFor((p) => p.cmd === 'pubcomp' && p.messageId === id, `PUBCOMP ${id}`);
    }
  });
});

describe('anonymous clients', () => {
  // Counted per remote address when they come from another machine (broker/caps/sessions.test.ts, with the address
  // given); this machine's own anonymous clients are one trusted user, as everywhere in mqlive, and not capped.
  it('on loopback are not capped by --max-sessions-per-user: every tool on the machine may keep its session', async () => {
    const anonymous = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--max-sessions-per-user', '2']);
    open.push({ end: () => void anonymous.stop('SIGKILL') });
    const at = await brokerReady(anonymous, 20_000);
    await loginClient(at.mqtt, { clientId: 'anon-1', clean: false });
    await loginClient(at.ws, { clientId: 'anon-2', clean: false });
    await loginClient(at.mqtt, { clientId: 'anon-3', clean: false });
    expect(anonymous.events('cap_hit')).toEqual([]);
    await anonymous.stop('SIGTERM');
  });
});

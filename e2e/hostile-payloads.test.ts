import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';

// Issue 26's critical attack, against the compiled broker: one publish whose payload nests 30,000 arrays deep
// used to throw a RangeError out of authorizePublish (the refusal's message serialized the value) and end the
// process. Every client of the broker must keep being served, over TCP and WebSocket, for publishes and wills.
const DEEP = `{"text":${'['.repeat(30_000)}${']'.repeat(30_000)},"ts":1}`;

let broker: Spawned;
let ready: ReadyEvent;
let inbox: Inbox;
const clients: { end(force: boolean): unknown }[] = [];

beforeAll(async () => {
  broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json']);
  ready = await brokerReady(broker, 20_000);
  const watcher = await connect(ready.ws, { clientId: 'watcher' });
  clients.push(watcher);
  inbox = new Inbox(watcher);
  await subscribe(watcher, ['clients/+/messages', 'devices/#', 'barrier/#']);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.stop('SIGKILL');
});

/** Publishes a marker from an innocent client and waits for it: whatever was acknowledged before it has been routed. */
async function barrier(name: string): Promise<void> {
  const innocent = await connect(ready.mqtt, { clientId: `innocent-${name}` });
  clients.push(innocent);
  await innocent.publishAsync(`barrier/${name}`, 'after', { qos: 1 });
  await inbox.waitFor((m) => m.topic === `barrier/${name}`);
}

describe.each(['tcp', 'ws'] as const)('a payload nested 30,000 deep over %s', (transport) => {
  const url = () => (transport === 'tcp' ? ready.mqtt : ready.ws);

  it('is refused on a reply topic and a device topic, and the broker serves everyone after it', async () => {
    const attacker = await connect(url(), { clientId: `deep-${transport}` });
    clients.push(attacker);
    await attacker.publishAsync(`clients/deep-${transport}/messages`, DEEP, { qos: 1 });
    await attacker.publishAsync(`devices/deep-${transport}/mouse/click`, DEEP, { qos: 1 });
    await barrier(`publish-${transport}`);
    expect(broker.hasEnded()).toBe(false);
    expect(inbox.messages.filter((m) => m.topic.includes(`deep-${transport}`))).toEqual([]);
    // Refused by the size cap, checked before the payload is decoded (the default cap is 4 KB).
    const dropped = broker.events('publish_dropped').filter((e) => e.clientId === `deep-${transport}`);
    expect(dropped.map((e) => e.topic)).toEqual([`clients/deep-${transport}/messages`, `devices/deep-${transport}/mouse/click`]);
    for (const e of dropped) expect(String(e.reason)).toMatch(/^payload of 60016 bytes on a contract topic \(limit \d+\)$/);
    expect(broker.output()).not.toMatch(/RangeError|Maximum call stack/);
  });

  it('is refused as a will at CONNECT, with the broker still up', async () => {
    const id = `will-${transport}`;
    await expect(connect(url(), { clientId: id, will: { topic: `clients/${id}/messages`, payload: Buffer.from(DEEP), qos: 1, retain: false } })).rejects.toThrow(/Not authorized|not authorized|Connection refused/i);
    await barrier(`will-${transport}`);
    expect(broker.hasEnded()).toBe(false);
  });
});

describe('the log', () => {
  it('writes bidi controls and zero-width marks from a client id as escapes, in JSON lines too', async () => {
    const id = 'evil\u202egnp.exe\u200b';
    const client = await connect(ready.mqtt, { clientId: id });
    clients.push(client);
    await barrier('log');
    const connected = broker.events('client_connected').find((e) => e.clientId === id);
    expect(connected).toBeDefined(); // parsed back to the same id: the escapes are plain JSON
    expect(broker.output()).not.toMatch(/[\u202e\u200b]/);
  });
});

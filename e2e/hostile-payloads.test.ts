import { describe, expect, it } from 'vitest';
import { connect } from '../test-support/mqtt';
import { watchedBroker } from '../test-support/watched-broker';

// Issue 26's critical attack, against the compiled broker: one publish whose payload nests 30,000 arrays deep
// used to throw a RangeError out of authorizePublish (the refusal's message serialized the value) and end the
// process. Every client of the broker must keep being served, over TCP and WebSocket, for publishes and wills.
const DEEP = `{"text":${'['.repeat(30_000)}${']'.repeat(30_000)},"ts":1}`;

const env = watchedBroker([], ['clients/+/messages', 'devices/#']);
const { barrier } = env;

describe.each(['tcp', 'ws'] as const)('a payload nested 30,000 deep over %s', (transport) => {
  const url = () => (transport === 'tcp' ? env.ready.mqtt : env.ready.ws);

  it('is refused on a reply topic and a device topic, and the broker serves everyone after it', async () => {
    const attacker = await connect(url(), { clientId: `deep-${transport}` });
    env.keep(attacker);
    await attacker.publishAsync(`clients/deep-${transport}/messages`, DEEP, { qos: 1 });
    await attacker.publishAsync(`devices/deep-${transport}/mouse/click`, DEEP, { qos: 1 });
    await barrier(`publish-${transport}`);
    expect(env.broker.hasEnded()).toBe(false);
    expect(env.inbox.messages.filter((m) => m.topic.includes(`deep-${transport}`))).toEqual([]);
    // Refused by the size cap, checked before the payload is decoded (the default cap is 4 KB).
    // The log line travels on another pipe than the barrier: wait for the last one itself.
    await env.broker.waitForEvent('publish_dropped', { where: { clientId: `deep-${transport}`, topic: `devices/deep-${transport}/mouse/click` } });
    const dropped = env.broker.events('publish_dropped').filter((e) => e.clientId === `deep-${transport}`);
    expect(dropped.map((e) => e.topic)).toEqual([`clients/deep-${transport}/messages`, `devices/deep-${transport}/mouse/click`]);
    for (const e of dropped) expect(String(e.reason)).toMatch(/^payload of 60016 bytes on a contract topic \(limit \d+\)$/);
    expect(env.broker.output()).not.toMatch(/RangeError|Maximum call stack/);
  });

  it('is refused as a will at CONNECT, with the broker still up', async () => {
    const id = `will-${transport}`;
    await expect(connect(url(), { clientId: id, will: { topic: `clients/${id}/messages`, payload: Buffer.from(DEEP), qos: 1, retain: false } })).rejects.toThrow(/Not authorized|not authorized|Connection refused/i);
    await barrier(`will-${transport}`);
    expect(env.broker.hasEnded()).toBe(false);
  });
});

describe('the log', () => {
  it('writes bidi controls and zero-width marks from a client id as escapes, in JSON lines too', async () => {
    const id = 'evil\u202egnp.exe\u200b';
    const client = await connect(env.ready.mqtt, { clientId: id });
    env.keep(client);
    // Found by its parsed id: the escapes are plain JSON (a line that did not parse back would time out here).
    await env.broker.waitForEvent('client_connected', { where: { clientId: id } });
    expect(env.broker.output()).not.toMatch(/[\u202e\u200b]/);
  });
});

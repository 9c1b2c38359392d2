import type mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { RawClient, type Endpoint, type RawConnect } from '../test-support/raw-client';
import { makeUsers } from '../test-support/security';
import { parseShared } from './shared-subscriptions';

// MQTT 5 shared subscriptions ($share/{group}/{filter}): each message to one member of the group, checked on the
// inner filter like any subscription.
let env: TestBroker;
let endpoint: Endpoint;
const open: { end(): unknown }[] = [];
beforeAll(async () => {
  const { data: users } = await makeUsers({ root: 'admin', vera: 'viewer' });
  env = await startTestBroker({ users });
  endpoint = { mqtt: env.broker.mqttUrl, ws: env.broker.wsUrl };
});
afterAll(async () => {
  for (const c of open) c.end();
  await env.close();
});

const login = (name: string) => ({ username: name, password: `${name}-password` });
const v5 = (clientId: string, user = 'root'): RawConnect => ({ clientId, clean: true, protocolVersion: 5, ...login(user) });
const publish = (topic: string, payload: string, messageId: number, retain = false): mqttPacket.IPublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId, retain, dup: false });

async function subscribed(clientId: string, filters: string[], user = 'root'): Promise<{ client: RawClient; granted: number[] }> {
  const { client } = await RawClient.open(endpoint, 'tcp', v5(clientId, user), open);
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: filters.map((topic) => ({ topic, qos: 1 as const })) });
  const suback = (await client.waitFor((p) => p.cmd === 'suback', 'SUBACK')) as mqttPacket.ISubackPacket;
  return { client, granted: suback.granted.map(Number) };
}

describe('shared subscriptions', () => {
  it('are said to be available in CONNACK', async () => {
    const { client, connack } = await RawClient.open(endpoint, 'ws', v5('share-connack'), open);
    client.end();
    expect(connack.properties?.sharedSubscriptionAvailable).toBe(true);
  });

  it('give each message to one member of the group, in turn, and every message to a plain subscriber; a mixed SUBSCRIBE gets its codes in order', async () => {
    const { client: a, granted } = await subscribed('share-a', ['$share/g1/share/t', 'share/barrier']);
    expect(granted).toEqual([1, 1]);
    const { client: b } = await subscribed('share-b', ['$share/g1/share/t', 'share/barrier']);
    const { client: plain } = await subscribed('share-plain', ['share/t']);
    const { client: publisher } = await RawClient.open(endpoint, 'tcp', v5('share-pub'), open);
    publisher.send(...Array.from({ length: 10 }, (_, i) => publish('share/t', String(i), i + 1)), publish('share/barrier', 'end', 11));
    for (const member of [a, b]) await member.waitFor((p) => p.cmd === 'publish' && p.topic === 'share/barrier', 'the barrier');
    await plain.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === '9', 'the last message');
    const got = (c: RawClient) => c.publishes().filter((p) => p.topic === 'share/t').map((p) => Number(p.payload.toString()));
    expect([...got(a), ...got(b)].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect([got(a).length, got(b).length]).toEqual([5, 5]);
    expect(got(plain)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    // A member that leaves: the other gets everything.
    a.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['$share/g1/share/t'] });
    await a.waitFor((p) => p.cmd === 'unsuback', 'UNSUBACK');
    publisher.send(...Array.from({ length: 4 }, (_, i) => publish('share/t', `after ${i}`, 20 + i)), publish('share/barrier', 'end 2', 30));
    await a.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'end 2', 'the second barrier');
    await b.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'end 2', 'the second barrier');
    expect(b.payloads().filter((t) => t.startsWith('after'))).toEqual(['after 0', 'after 1', 'after 2', 'after 3']);
    expect(a.payloads().filter((t) => t.startsWith('after'))).toEqual([]);
  });

  it('are checked on the inner filter: a viewer may not share a filter it may not read', async () => {
    const { granted } = await subscribed('share-vera', ['$share/g/clients/#', '$share/g/$SYS/#', '$share/g/devices/#'], 'vera');
    expect(granted.slice(0, 2).every((code) => code >= 0x80)).toBe(true);
    expect(granted[2]).toBe(1);
  });

  it('get no retained message when they are made (MQTT 5 §4.8.2)', async () => {
    const { client: publisher } = await RawClient.open(endpoint, 'tcp', v5('share-retainer'), open);
    publisher.send(publish('share/kept', 'retained', 1, true));
    await publisher.waitFor((p) => p.cmd === 'puback', 'PUBACK');
    const { client } = await subscribed('share-late', ['$share/g2/share/kept', 'share/barrier2']);
    publisher.send(publish('share/barrier2', 'b', 2));
    await client.waitFor((p) => p.cmd === 'publish' && p.topic === 'share/barrier2', 'the barrier');
    expect(client.publishes().map((p) => p.topic)).toEqual(['share/barrier2']);
  });

  it('reads $share/{group}/{filter}, and nothing else, as one', () => {
    expect(parseShared('$share/g/a/+/b')).toEqual({ group: 'g', filter: 'a/+/b' });
    expect(parseShared('$share/g/#')).toEqual({ group: 'g', filter: '#' });
    for (const bad of ['$share/g', '$share//a', '$share/g+/a', '$share/g/', 'a/$share/g/b', '$SHARE/g/a']) expect(parseShared(bad)).toBeNull();
  });
});

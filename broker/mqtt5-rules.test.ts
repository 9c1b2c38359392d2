import type mqttPacket from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { RawClient, type Endpoint, type RawConnect } from '../test-support/raw-client';
import { makeUsers } from '../test-support/security';
import { MAX_USER_PROPERTIES } from './admission/publish-properties';

// Issue 27: every mqlive rule holds for MQTT 5 clients, and no MQTT 5 property is a way around one. Each case is an
// attack by a client with few rights (device alice, viewer vera) on a broker with users; an admin (root) listens to
// everything, and each case ends on a barrier message the attacker may publish, so "nothing else arrived" is seen,
// not waited for.
let env: TestBroker;
let endpoint: Endpoint;
const open: { end(): unknown }[] = [];
beforeAll(async () => {
  const { data: users } = await makeUsers({ root: 'admin', alice: 'device', vera: 'viewer' });
  env = await startTestBroker({ users, limits: { publishRate: 50, publishBurst: 50 } });
  endpoint = { mqtt: env.broker.mqttUrl, ws: env.broker.wsUrl };
});
afterAll(async () => {
  for (const c of open) c.end();
  await env.close();
});

const login = (name: string) => ({ username: name, password: `${name}-password` });
const v5 = (clientId: string, user: string, more: Partial<RawConnect> = {}): RawConnect => ({ clientId, clean: true, protocolVersion: 5, ...login(user), ...more });
const publish = (topic: string, payload: string, qos: 0 | 1 | 2, messageId: number, properties?: mqttPacket.IPublishPacket['properties']): mqttPacket.IPublishPacket => ({
  cmd: 'publish', topic, payload: Buffer.from(payload), qos, messageId, retain: false, dup: false, ...(properties && { properties }),
});
const ackOf = (client: RawClient, messageId: number) => client.waitFor((p) => (p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId === messageId, `the ack of ${messageId}`) as Promise<mqttPacket.IPubackPacket>;

describe.each(['tcp', 'ws'] as const)('MQTT 5 over %s', (transport) => {
  let root: RawClient;
  beforeAll(async () => {
    root = await RawClient.subscribed(endpoint, transport, v5(`root-${transport}`, 'root'), '#', 1, open);
  });

  /** Publishes the barrier as `client` and waits for root to see it: whatever root got before it is all it got. */
  async function barrier(client: RawClient, name: string): Promise<string[]> {
    client.send(publish(`devices/alice/barrier`, name, 0, 0));
    await root.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === name, `barrier ${name}`);
    const seen = root.publishes().map((p) => `${p.topic} ${p.payload.toString()}`);
    root.received.length = 0;
    return seen.slice(0, -1);
  }

  it('a topic alias is checked as the topic it names: a forbidden topic set with an alias stays forbidden when used through it', async () => {
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`alias-${transport}`, 'alice'), open);
    alice.send(publish('devices/bob/status', 'set', 1, 1, { topicAlias: 1 }));
    expect((await ackOf(alice, 1)).reasonCode).toBe(0x87);
    alice.send(publish('', 'used', 1, 2, { topicAlias: 1 }));
    expect((await ackOf(alice, 2)).reasonCode).toBe(0x87);
    // An alias set on an allowed topic works, and a reserved topic through an alias ends the connection.
    alice.send(publish('devices/alice/t', 'ok', 1, 3, { topicAlias: 2 }), publish('', 'ok again', 1, 4, { topicAlias: 2 }));
    expect((await ackOf(alice, 4)).reasonCode ?? 0).toBe(0);
    expect(await barrier(alice, `alias-${transport}`)).toEqual(['devices/alice/t ok', 'devices/alice/t ok again']);
    alice.send(publish('$SYS/broker/x', 'set', 0, 0, { topicAlias: 3 }));
    const disconnect = (await alice.waitFor((p) => p.cmd === 'disconnect', 'DISCONNECT')) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x87);
    await alice.waitForClose();
  });

  it('a shared subscription is no way to a denied filter: it is checked on its inner filter', async () => {
    const { client: vera } = await RawClient.open(endpoint, transport, v5(`share-${transport}`, 'vera'), open);
    vera.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/clients/#', qos: 0 }, { topic: '$share/g/$SYS/#', qos: 0 }, { topic: 'clients/#', qos: 0 }] });
    const suback = (await vera.waitFor((p) => p.cmd === 'suback', 'SUBACK')) as mqttPacket.ISubackPacket;
    expect(suback.granted.map(Number).every((code) => code >= 0x80)).toBe(true);
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`share-pub-${transport}`, 'alice'), open);
    // A viewer reads devices/#: its own subscription there is the barrier that the others delivered nothing.
    vera.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'devices/alice/barrier', qos: 0 }] });
    await vera.waitFor((p) => p.cmd === 'suback' && p.messageId === 2, 'SUBACK 2');
    await barrier(alice, `share-${transport}`);
    await vera.waitFor((p) => p.cmd === 'publish', 'the barrier');
    expect(vera.publishes().map((p) => p.topic)).toEqual(['devices/alice/barrier']);
  });

  it('a response topic must be one its sender could publish to itself: not another client\'s namespace, $SYS/ or $mqlive/', async () => {
    const { client: vera } = await RawClient.open(endpoint, transport, v5(`vera-${transport}`, 'vera'), open);
    const own = `clients/vera-${transport}/messages`;
    const reply = JSON.stringify({ text: 'hi', ts: Date.now() });
    vera.send(publish(own, reply, 1, 1, { responseTopic: `clients/other-${transport}/messages` }));
    expect((await ackOf(vera, 1)).reasonCode).toBe(0x87);
    vera.send(publish(own, reply, 1, 2, { responseTopic: '$SYS/broker/uptime' }));
    expect((await ackOf(vera, 2)).reasonCode).toBe(0x87);
    vera.send(publish(own, reply, 1, 3, { responseTopic: own, correlationData: Buffer.from('c1') }));
    expect((await ackOf(vera, 3)).reasonCode ?? 0).toBe(0);
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`resp-${transport}`, 'alice'), open);
    alice.send(publish('devices/alice/t', 'x', 1, 1, { responseTopic: 'devices/bob/commands' }));
    const refused = await ackOf(alice, 1);
    expect(refused.reasonCode).toBe(0x87);
    expect(refused.properties?.reasonString).toMatch(/response topic/);
    expect(await barrier(alice, `resp-${transport}`)).toEqual([`${own} ${reply}`]);
  });

  it(`at most ${MAX_USER_PROPERTIES} user properties and 16 KiB of properties a message: more is refused with 0x97`, async () => {
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`props-${transport}`, 'alice'), open);
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    alice.send(publish('devices/alice/t', 'too many', 1, 1, { userProperties: many(MAX_USER_PROPERTIES + 1) }));
    expect((await ackOf(alice, 1)).reasonCode).toBe(0x97);
    alice.send(publish('devices/alice/t', 'as an array', 1, 2, { userProperties: { k: Array.from({ length: MAX_USER_PROPERTIES + 1 }, () => 'v') } }));
    expect((await ackOf(alice, 2)).reasonCode).toBe(0x97);
    alice.send(publish('devices/alice/t', 'too big', 2, 3, { correlationData: Buffer.alloc(17 * 1024) }));
    expect((await ackOf(alice, 3)).reasonCode).toBe(0x97);
    alice.send(publish('devices/alice/t', 'enough', 1, 4, { userProperties: many(MAX_USER_PROPERTIES) }));
    expect((await ackOf(alice, 4)).reasonCode ?? 0).toBe(0);
    expect(await barrier(alice, `props-${transport}`)).toEqual(['devices/alice/t enough']);
  });

  it('a PUBLISH carries on only the properties a PUBLISH has: a reason string, authentication data or a subscription identifier it brought are left out', async () => {
    const watcher = await RawClient.subscribed(endpoint, transport, v5(`strip-watch-${transport}`, 'root'), 'devices/alice/stripped', 1, open);
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`strip-${transport}`, 'alice'), open);
    const foreign = { reasonString: 'x'.repeat(1000), authenticationData: Buffer.alloc(1000), subscriptionIdentifier: 7, contentType: 'text/plain' } as mqttPacket.IPublishPacket['properties'];
    alice.send(publish('devices/alice/stripped', 'foreign', 1, 1, foreign));
    const delivered = (await watcher.waitFor((p) => p.cmd === 'publish', 'the message')) as mqttPacket.IPublishPacket;
    expect(delivered.properties).toEqual({ contentType: 'text/plain' });
    expect(await barrier(alice, `strip-${transport}`)).toEqual(['devices/alice/stripped foreign']);
  });

  it('the topic contract answers with 0x99, the rate limit with DISCONNECT 0x96, a reason string with each unless asked for none', async () => {
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`contract-${transport}`, 'alice'), open);
    alice.send(publish('devices/alice/mouse/move', '{"x":', 1, 1));
    const ack = await ackOf(alice, 1);
    expect(ack.reasonCode).toBe(0x99);
    expect(ack.properties?.reasonString).toEqual(expect.any(String));
    const { client: quiet } = await RawClient.open(endpoint, transport, v5(`quiet-${transport}`, 'alice', { properties: { requestProblemInformation: false } }), open);
    quiet.send(publish('devices/alice/mouse/move', '{"x":', 1, 1));
    const silent = await ackOf(quiet, 1);
    expect([silent.reasonCode, silent.properties?.reasonString]).toEqual([0x99, undefined]);
    expect(await barrier(alice, `contract-${transport}`)).toEqual([]);
    const flood = Array.from({ length: 60 }, (_, i) => publish('devices/alice/t', String(i), 0, 0));
    alice.send(...flood);
    const disconnect = (await alice.waitFor((p) => p.cmd === 'disconnect', 'DISCONNECT')) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x96);
  });

  it('a will is checked at CONNECT with its properties: a response topic elsewhere is refused (CONNACK 0x87)', async () => {
    const will = { topic: 'devices/alice/status', payload: Buffer.from('offline'), qos: 1 as const, retain: true, properties: { responseTopic: 'devices/bob/commands' } };
    const { returnCode } = await RawClient.open(endpoint, transport, v5(`will-${transport}`, 'alice', { will }), open);
    expect(returnCode).toBe(0x87);
  });

  it('a will delayed past a takeover by another user (an admin) is not published: the session went on', async () => {
    const clientId = `device-alice`;
    const will = (name: string) => ({ topic: `devices/alice/${name}`, payload: Buffer.from('gone'), qos: 0 as const, retain: false, properties: { willDelayInterval: 1 } });
    const { client: alice } = await RawClient.open(endpoint, transport, v5(clientId, 'alice', { will: will('taken'), properties: { sessionExpiryInterval: 30 } }), open);
    const { client: witness } = await RawClient.open(endpoint, transport, v5(`witness-${transport}`, 'alice', { will: will('witness'), properties: { sessionExpiryInterval: 30 } }), open);
    alice.end();
    witness.end();
    await Promise.all([alice.closed, witness.closed]);
    const { returnCode } = await RawClient.open(endpoint, transport, v5(clientId, 'root'), open);
    expect(returnCode).toBe(0);
    // The witness's will, delayed as long, is the barrier: alice's would have come by then.
    await root.waitFor((p) => p.cmd === 'publish' && p.topic === 'devices/alice/witness', 'the witness will');
    const wills = root.publishes().filter((p) => p.topic === 'devices/alice/taken' || p.topic === 'devices/alice/witness');
    expect(wills.map((p) => p.topic)).toEqual(['devices/alice/witness']);
    expect(wills[0]!.properties ?? {}).not.toHaveProperty('willDelayInterval'); // not a PUBLISH property (#1098)
    root.received.length = 0;
  });

  it('a packet over the broker\'s Maximum Packet Size (said in CONNACK) ends the connection with DISCONNECT 0x95', async () => {
    const { client: alice, connack } = await RawClient.open(endpoint, transport, v5(`big-${transport}`, 'alice'), open);
    const max = connack.properties?.maximumPacketSize ?? 0;
    expect(max).toBeGreaterThan(1024);
    alice.send(publish('devices/alice/t', 'x'.repeat(max), 0, 0));
    const disconnect = (await alice.waitFor((p) => p.cmd === 'disconnect', 'DISCONNECT')) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x95);
    await alice.waitForClose();
  });

  it('more QoS 2 messages unreleased than the Receive Maximum said in CONNACK ends the connection with DISCONNECT 0x93', async () => {
    const { client: alice, connack } = await RawClient.open(endpoint, transport, v5(`flow-${transport}`, 'alice'), open);
    const max = connack.properties?.receiveMaximum ?? 0;
    expect(max).toBe(20);
    alice.send(...Array.from({ length: max + 1 }, (_, i) => publish('devices/alice/q2', String(i), 2, i + 1)));
    const disconnect = (await alice.waitFor((p) => p.cmd === 'disconnect', 'DISCONNECT')) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x93);
    await alice.waitForClose();
  });

  it('a client silent past 1.5 times its keep alive is told why: DISCONNECT 0x8D', async () => {
    const { client } = await RawClient.open(endpoint, transport, v5(`silent-${transport}`, 'alice', { keepalive: 1 }), open);
    const disconnect = (await client.waitFor((p) => p.cmd === 'disconnect', 'DISCONNECT')) as mqttPacket.IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x8d);
    await client.waitForClose();
  });

  it('a client that can take only small packets (Maximum Packet Size) is not sent a larger one', async () => {
    const small = await RawClient.subscribed(endpoint, transport, v5(`small-${transport}`, 'root', { properties: { maximumPacketSize: 64 } }), 'devices/alice/size', 1, open);
    const { client: alice } = await RawClient.open(endpoint, transport, v5(`size-${transport}`, 'alice'), open);
    alice.send(publish('devices/alice/size', 'x'.repeat(100), 0, 0), publish('devices/alice/size', 'small', 0, 0));
    await small.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'small', 'the small one');
    expect(small.payloads()).toEqual(['small']);
    await barrier(alice, `size-${transport}`);
  });
});

describe('the session cap, for MQTT 5 sessions', () => {
  it('counts a session with a Session Expiry as persistent, and frees its place when it expires', async () => {
    const { data: users } = await makeUsers({ sam: 'device' });
    const capped = await startTestBroker({ users, limits: { maxSessionsPerUser: 1 } });
    const at = { mqtt: capped.broker.mqttUrl, ws: capped.broker.wsUrl };
    try {
      const { client: first, returnCode } = await RawClient.open(at, 'tcp', v5('sam-1', 'sam', { properties: { sessionExpiryInterval: 1 } }), open);
      expect(returnCode).toBe(0);
      first.end();
      await first.closed;
      const { returnCode: second } = await RawClient.open(at, 'tcp', v5('sam-2', 'sam', { properties: { sessionExpiryInterval: 60 } }), open);
      expect(second).toBe(0x88); // CONNACK 3, as Aedes says it in MQTT 5
      // Once sam-1's second is over its place is free: tried again every 200 ms, for 5 s at most.
      let accepted = -1;
      for (let i = 0; i < 25 && accepted !== 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const { client, returnCode: code } = await RawClient.open(at, 'tcp', v5('sam-2', 'sam', { properties: { sessionExpiryInterval: 60 } }), open);
        client.end();
        accepted = code;
      }
      expect(accepted).toBe(0);
    } finally {
      await capped.close();
    }
  });

  it('frees the place of a session whose DISCONNECT sets its Session Expiry to 0', async () => {
    const { data: users } = await makeUsers({ sue: 'device' });
    const capped = await startTestBroker({ users, limits: { maxSessionsPerUser: 1 } });
    const at = { mqtt: capped.broker.mqttUrl, ws: capped.broker.wsUrl };
    try {
      for (const id of ['sue-1', 'sue-2', 'sue-3']) {
        const { client, returnCode } = await RawClient.open(at, 'tcp', v5(id, 'sue', { properties: { sessionExpiryInterval: 3600 } }), open);
        expect(returnCode, id).toBe(0);
        client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } });
        await client.closed;
      }
    } finally {
      await capped.close();
    }
  });
});

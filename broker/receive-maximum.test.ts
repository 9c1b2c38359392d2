import type mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { RawClient, rawClientBroker } from '../test-support/raw-client';

// MQTT 5 Receive Maximum (MQTT-3.3.4-9): the broker sends an MQTT 5 client no more unacknowledged QoS 1 and 2
// PUBLISHes than its CONNECT allows. "Nothing more arrived" is shown with a barrier: a QoS 0 message on another
// topic, published after the others and not subject to the window, arrives first.
const { endpoint, open } = rawClientBroker();

const TEXTS = ['m1', 'm2', 'm3', 'm4', 'm5'];
let barriers = 0;

/** A publisher (MQTT 3.1.1) that publishes each text at `qos` on `topic`, finishing each QoS 2 handshake. */
async function publisher(name: string): Promise<{ publishAll(topic: string, qos: 1 | 2, texts: string[]): Promise<void>; barrier(subscriber: RawClient): Promise<void> }> {
  const { client } = await RawClient.open(endpoint, 'tcp', { clientId: `${name}-pub`, clean: true }, open);
  let id = 0;
  return {
    async publishAll(topic, qos, texts) {
      const ids = texts.map(() => ++id);
      client.send(...texts.map((text, i) => ({ cmd: 'publish' as const, topic, payload: Buffer.from(text), qos, messageId: ids[i]!, retain: false, dup: false })));
      const last = ids[ids.length - 1];
      if (qos === 2) {
        await client.waitFor((p) => p.cmd === 'pubrec' && p.messageId === last, 'the last PUBREC');
        client.send(...ids.map((messageId) => ({ cmd: 'pubrel' as const, messageId })));
        await client.waitFor((p) => p.cmd === 'pubcomp' && p.messageId === last, 'the last PUBCOMP');
      } else await client.waitFor((p) => p.cmd === 'puback' && p.messageId === last, 'the last PUBACK');
    },
    async barrier(subscriber) {
      const text = `barrier-${++barriers}`;
      client.send({ cmd: 'publish', topic: `${name}/barrier`, payload: Buffer.from(text), qos: 0, retain: false, dup: false });
      await subscriber.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === text, text);
    },
  };
}

/** The QoS 1 or 2 PUBLISHes a client received on `topic`. */
const windowed = (client: RawClient, topic: string) => client.publishes().filter((p) => p.topic === topic && p.qos > 0);
const nth = (client: RawClient, topic: string, text: string) => windowed(client, topic).find((p) => p.payload.toString() === text)!;

async function subscriber(name: string, topic: string, qos: 1 | 2, connect: { protocolVersion: 4 | 5; properties?: mqttPacket.IConnectPacket['properties'] }): Promise<RawClient> {
  const { client } = await RawClient.open(endpoint, 'tcp', { clientId: `${name}-sub`, clean: true, ...connect }, open);
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }, { topic: `${name}/barrier`, qos: 0 }] });
  await client.waitFor((p) => p.cmd === 'suback', 'SUBACK');
  return client;
}

describe.each([1, 2] as const)('QoS %s', (qos) => {
  /** Acknowledges a message completely: PUBACK, or PUBREC then (once the PUBREL is in) PUBCOMP. */
  async function ack(client: RawClient, messageId: number): Promise<void> {
    if (qos === 1) return client.send({ cmd: 'puback', messageId });
    client.send({ cmd: 'pubrec', messageId });
    await client.waitFor((p) => p.cmd === 'pubrel' && p.messageId === messageId, `PUBREL ${messageId}`);
    client.send({ cmd: 'pubcomp', messageId });
  }

  it('an MQTT 5 client with Receive Maximum 2 gets two PUBLISHes, then one more per acknowledgement, all in order', async () => {
    const name = `rm-${qos}`;
    const topic = `${name}/data`;
    const sub = await subscriber(name, topic, qos, { protocolVersion: 5, properties: { receiveMaximum: 2 } });
    const pub = await publisher(name);
    await pub.publishAll(topic, qos, TEXTS);
    await pub.barrier(sub);
    expect(windowed(sub, topic).map((p) => p.payload.toString())).toEqual(['m1', 'm2']);

    if (qos === 2) {
      // A PUBREC (success) does not free the slot: only the PUBCOMP does.
      sub.send({ cmd: 'pubrec', messageId: nth(sub, topic, 'm1').messageId! });
      await sub.waitFor((p) => p.cmd === 'pubrel', 'PUBREL');
      await pub.barrier(sub);
      expect(windowed(sub, topic)).toHaveLength(2);
      sub.send({ cmd: 'pubcomp', messageId: nth(sub, topic, 'm1').messageId! });
    } else await ack(sub, nth(sub, topic, 'm1').messageId!);
    await sub.waitFor(() => windowed(sub, topic).length === 3, 'm3');
    await pub.barrier(sub);
    expect(windowed(sub, topic)).toHaveLength(3);

    for (const [acked, next] of [['m2', 4], ['m3', 5]] as const) {
      await ack(sub, nth(sub, topic, acked).messageId!);
      await sub.waitFor(() => windowed(sub, topic).length === next, `message ${next}`);
    }
    await pub.barrier(sub);
    const got = windowed(sub, topic);
    expect(got.map((p) => p.payload.toString())).toEqual(TEXTS);
    expect(got.every((p) => p.qos === qos)).toBe(true);
    expect(new Set(got.map((p) => p.messageId)).size).toBe(5);
  });

  it('an MQTT 3.1.1 client, which has no Receive Maximum, gets all five at once', async () => {
    const name = `rm311-${qos}`;
    const topic = `${name}/data`;
    const sub = await subscriber(name, topic, qos, { protocolVersion: 4 });
    const pub = await publisher(name);
    await pub.publishAll(topic, qos, TEXTS);
    await pub.barrier(sub);
    expect(windowed(sub, topic).map((p) => p.payload.toString())).toEqual(TEXTS);
  });
});

it('a PUBREC with an error reason code (>= 0x80) frees the slot, with no PUBREL', async () => {
  const name = 'rm-pubrec-error';
  const topic = `${name}/data`;
  const sub = await subscriber(name, topic, 2, { protocolVersion: 5, properties: { receiveMaximum: 1 } });
  const pub = await publisher(name);
  await pub.publishAll(topic, 2, ['e1', 'e2']);
  await pub.barrier(sub);
  expect(windowed(sub, topic)).toHaveLength(1);
  sub.send({ cmd: 'pubrec', messageId: nth(sub, topic, 'e1').messageId!, reasonCode: 0x80 });
  await sub.waitFor(() => windowed(sub, topic).length === 2, 'e2');
  expect(sub.received.some((p) => p.cmd === 'pubrel')).toBe(false);
});

it('a persistent MQTT 5 session gets the messages held back by its window when it comes back', async () => {
  const name = 'rm-persistent';
  const topic = `${name}/data`;
  const session = { clientId: `${name}-sub`, protocolVersion: 5 as const, clean: false };
  const first = await RawClient.subscribed(endpoint, 'tcp', { ...session, properties: { sessionExpiryInterval: 60, receiveMaximum: 2 } }, topic, 1, open);
  const pub = await publisher(name);
  await pub.publishAll(topic, 1, TEXTS);
  await first.waitFor(() => windowed(first, topic).length === 2, 'two messages');
  first.end();
  await first.closed;
  const { client: again } = await RawClient.open(endpoint, 'tcp', { ...session, properties: { sessionExpiryInterval: 60 } }, open);
  await again.waitFor(() => windowed(again, topic).length === 5, 'all five');
  expect(windowed(again, topic).map((p) => p.payload.toString())).toEqual(TEXTS);
});

it('an MQTT 5 client that lets more pile up behind its window than --max-queued-messages allows is cut off as a slow reader', async () => {
  const capped = await startTestBroker({ limits: { maxQueuedMessages: 3 } });
  try {
    const capEndpoint = { mqtt: capped.broker.mqttUrl, ws: capped.broker.wsUrl };
    const sub = await RawClient.subscribed(capEndpoint, 'tcp', { clientId: 'rm-cap-sub', clean: true, protocolVersion: 5, properties: { receiveMaximum: 1 } }, 'rm-cap/data', 1, open);
    const { client: pub } = await RawClient.open(capEndpoint, 'tcp', { clientId: 'rm-cap-pub', clean: true }, open);
    pub.send(...TEXTS.map((text, i) => ({ cmd: 'publish' as const, topic: 'rm-cap/data', payload: Buffer.from(text), qos: 1 as const, messageId: i + 1, retain: false, dup: false })));
    await sub.waitForClose();
    await expect.poll(() => capped.logs.lines().some((e) => e.event === 'client_cut_off' && e.kind === 'slow' && e.clientId === 'rm-cap-sub')).toBe(true);
  } finally {
    await capped.close();
  }
});

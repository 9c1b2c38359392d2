import { connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { connect } from '../test-support/mqtt';
import { RawClient } from '../test-support/raw-client';

// The encode-once QoS 0 path must put on the wire exactly what Aedes's own path puts there: the same bytes as
// mqtt-packet's generate, with the retain bit right per delivery (set on a retained message replayed at
// SUBSCRIBE, cleared on a live one), to QoS 0 and QoS 1 subscribers alike; QoS 1 stays QoS 1 with its own id.

let env: TestBroker | undefined;
afterEach(async () => {
  await env?.close();
});

/** Splits a byte stream into whole MQTT packets, by their fixed header (MQTT 3.1.1 §2.2). */
function packets(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (let n = 0; n < 10_000 && at < bytes.length; n++) {
    let length = 0;
    let i = at + 1;
    for (let multiplier = 1; ; multiplier *= 128, i++) {
      length += (bytes[i]! & 0x7f) * multiplier;
      if ((bytes[i]! & 0x80) === 0) break;
    }
    out.push(bytes.subarray(at, i + 1 + length));
    at = i + 1 + length;
  }
  return out;
}

/** A subscriber speaking raw MQTT over TCP or WebSocket, keeping every byte it receives. */
async function rawSubscriber(transport: 'tcp' | 'ws', url: { mqttPort: number; wsUrl: string }, clientId: string, qos: 0 | 1): Promise<{ bytes: () => Buffer; close: () => void }> {
  const chunks: Buffer[] = [];
  const hello = Buffer.concat([
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 0 }),
    mqttPacket.generate({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'fast/#', qos }] }),
  ]);
  let close: () => void;
  if (transport === 'tcp') {
    const socket = tcpConnect(url.mqttPort, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(hello);
    close = () => socket.destroy();
  } else {
    const ws = new WebSocket(url.wsUrl, 'mqtt');
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    ws.on('message', (data: Buffer) => chunks.push(data));
    ws.send(hello);
    close = () => ws.terminate();
  }
  const bytes = () => Buffer.concat(chunks);
  await expect.poll(() => packets(bytes()).some((p) => p[0] === 0x90)).toBe(true); // SUBACK
  return { bytes, close: close! };
}

/** Whether a fresh subscriber gets a retained message on `topic` (bounded: 1 s). */
async function isRetained(url: string, topic: string): Promise<boolean> {
  const client = await connect(url);
  try {
    return await new Promise<boolean>((resolve) => {
      setTimeout(() => resolve(false), 1000);
      client.on('message', (_t, _p, packet) => packet.retain && resolve(true));
      client.subscribe(topic);
    });
  } finally {
    client.end(true);
  }
}

const publishBytes = (topic: string, payload: string, retain: boolean) => mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain, dup: false });

describe('QoS 0 deliveries encoded once per message', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`reach QoS 0 and QoS 1 subscribers over ${transport} byte for byte as mqtt-packet encodes them, retain bit right per delivery`, async () => {
      env = await startTestBroker();
      const { broker } = env;
      const publisher = await connect(broker.mqttUrl);
      try {
        await publisher.publishAsync('fast/kept', 'retained', { qos: 0, retain: true });
        await expect.poll(() => isRetained(broker.mqttUrl, 'fast/kept'), { timeout: 10_000 }).toBe(true);
        const subs = [await rawSubscriber(transport, broker, `q0-${transport}`, 0), await rawSubscriber(transport, broker, `q1-${transport}`, 1)];
        const retained = publishBytes('fast/kept', 'retained', true);
        for (const s of subs) await expect.poll(() => packets(s.bytes()).some((p) => p.equals(retained))).toBe(true);

        await publisher.publishAsync('fast/live', 'é'.repeat(200), { qos: 0 });
        await publisher.publishAsync('fast/kept', 'again', { qos: 0, retain: true }); // live: retain cleared for subscribers
        await publisher.publishAsync('fast/sure', 'one', { qos: 1 });
        const expected = [publishBytes('fast/live', 'é'.repeat(200), false), publishBytes('fast/kept', 'again', false)];
        for (const s of subs) {
          await expect.poll(() => packets(s.bytes()).filter((p) => p[0]! >> 4 === 3).length).toBe(4);
          const publishes = packets(s.bytes()).filter((p) => p[0]! >> 4 === 3);
          expect(publishes[0]!.equals(retained)).toBe(true);
          expect(publishes[1]!.equals(expected[0]!)).toBe(true);
          expect(publishes[2]!.equals(expected[1]!)).toBe(true);
        }
        // The QoS 1 message: QoS 0 to the QoS 0 subscriber, QoS 1 with a message id to the QoS 1 subscriber.
        const parse = (p: Buffer) => {
          let packet: mqttPacket.IPublishPacket | undefined;
          const parser = mqttPacket.parser({ protocolVersion: 4 });
          parser.on('packet', (x) => (packet = x as mqttPacket.IPublishPacket));
          parser.parse(p);
          return packet!;
        };
        const lastOf = (s: (typeof subs)[number]) => parse(packets(s.bytes()).filter((p) => p[0]! >> 4 === 3)[3]!);
        expect(lastOf(subs[0]!)).toMatchObject({ topic: 'fast/sure', qos: 0, retain: false });
        expect(lastOf(subs[1]!)).toMatchObject({ topic: 'fast/sure', qos: 1, retain: false });
        expect(typeof lastOf(subs[1]!).messageId).toBe('number');
        for (const s of subs) s.close();
      } finally {
        publisher.end(true);
      }
    });
  }
});

describe('QoS 0 to MQTT 5 subscribers, encoded once', () => {
  it('each gets the message with its properties, a subscriber with a subscription identifier its own, and a 3.1.1 one none', async () => {
    const env = await startTestBroker();
    const at = { mqtt: env.broker.mqttUrl, ws: env.broker.wsUrl };
    const open: { end(): unknown }[] = [];
    try {
      const plain = await Promise.all(['tcp', 'ws', 'tcp'].map((t, i) => RawClient.subscribed(at, t as 'tcp' | 'ws', { clientId: `v5-plain-${i}`, clean: true, protocolVersion: 5 }, 'q0/v5', 1, open)));
      const { client: identified } = await RawClient.open(at, 'tcp', { clientId: 'v5-si', clean: true, protocolVersion: 5 }, open);
      identified.send({ cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 42 }, subscriptions: [{ topic: 'q0/v5', qos: 0 }] });
      await identified.waitFor((p) => p.cmd === 'suback', 'SUBACK');
      const old = await RawClient.subscribed(at, 'ws', { clientId: 'v4-plain', clean: true, protocolVersion: 4 }, 'q0/v5', 1, open);
      const { client: publisher } = await RawClient.open(at, 'tcp', { clientId: 'v5-pub', clean: true, protocolVersion: 5 }, open);
      const properties = { contentType: 'application/json', payloadFormatIndicator: true, messageExpiryInterval: 30, userProperties: { unit: 'mm' } };
      publisher.send(
        { cmd: 'publish', topic: 'q0/v5', payload: Buffer.from('{"a":1}'), qos: 0, retain: false, dup: false, properties },
        { cmd: 'publish', topic: 'q0/v5', payload: Buffer.from('bare'), qos: 0, retain: false, dup: false },
      );
      const got = async (c: RawClient) => {
        await c.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'bare', 'the second message');
        return c.publishes().map((p) => [p.payload.toString(), p.properties ?? null]);
      };
      for (const c of plain) expect(await got(c)).toEqual([['{"a":1}', properties], ['bare', null]]);
      expect(await got(identified)).toEqual([['{"a":1}', { ...properties, subscriptionIdentifier: 42 }], ['bare', { subscriptionIdentifier: 42 }]]);
      expect(await got(old)).toEqual([['{"a":1}', null], ['bare', null]]);
    } finally {
      for (const c of open) c.end();
      await env.close();
    }
  });
});

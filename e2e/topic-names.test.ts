import mqttPacket from 'mqtt-packet';
import { connect as tcpConnect } from 'node:net';
import { WebSocket } from 'ws';
import { describe, expect, it } from 'vitest';
import { connect, retainedOn } from '../test-support/mqtt';
import { watchedBroker } from '../test-support/watched-broker';

// Issue 26: topic names as the specification says, against the compiled broker over TCP and WebSocket.
// U+0000 or bytes that are not well-formed UTF-8 in a topic (or any string of a packet) close the connection
// (MQTT-1.5.3-1, -2); a will topic is a topic name, so + and # in it refuse the CONNECT (MQTT-3.3.2-2).
const env = watchedBroker([], ['#']);

const connectBytes = (clientId: string, will?: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean }) =>
  mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: 30, ...(will && { will }) });

/** A packet whose topic has `bytes` where the placeholder `@@` stands (the same length, so the framing holds). */
function withTopicBytes(packet: mqttPacket.Packet, bytes: number[]): Buffer {
  const generated = mqttPacket.generate(packet);
  const at = generated.indexOf('@@');
  generated[at] = bytes[0]!;
  generated[at + 1] = bytes[1]!;
  return generated;
}

/** A CONNECT whose will topic is empty (mqtt-packet will not build one): written with '@', then cut out. */
function withEmptyWillTopic(clientId: string): Buffer {
  const bytes = connectBytes(clientId, { topic: '@', payload: Buffer.from('offline'), qos: 1, retain: true });
  const at = bytes.indexOf(Buffer.from([0x00, 0x01, 0x40]));
  const out = Buffer.concat([bytes.subarray(0, at), Buffer.from([0x00, 0x00]), bytes.subarray(at + 3)]);
  out[1] = out[1]! - 1; // the remaining length, one byte for a packet this small
  return out;
}

const NUL = [0x61, 0x00]; // "a", U+0000
const ILL_FORMED = [0xc3, 0x28]; // a lead byte followed by one that cannot continue it
const cases = {
  'a PUBLISH topic with U+0000': (id: string) => withTopicBytes({ cmd: 'publish', topic: `t/${id}/@@`, payload: Buffer.from('x'), qos: 1, messageId: 1, retain: true, dup: false }, NUL),
  'a PUBLISH topic that is not UTF-8': (id: string) => withTopicBytes({ cmd: 'publish', topic: `t/${id}/@@`, payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, ILL_FORMED),
  'a SUBSCRIBE filter that is not UTF-8': (id: string) => withTopicBytes({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `t/${id}/@@`, qos: 0 }] }, ILL_FORMED),
  'a will topic with U+0000': (id: string) => {
    const bytes = connectBytes(id, { topic: `t/${id}/@@`, payload: Buffer.from('gone'), qos: 0, retain: false });
    const at = bytes.indexOf('@@');
    bytes[at] = NUL[0]!;
    bytes[at + 1] = NUL[1]!;
    return bytes;
  },
};

/** Sends `bytes` (after a valid CONNECT unless they are one) and resolves with what came back once the broker closed. */
function send(transport: 'tcp' | 'ws', id: string, bytes: Buffer): Promise<mqttPacket.Packet[]> {
  const data = bytes[0] === 0x10 ? bytes : Buffer.concat([connectBytes(id), bytes]);
  const received: mqttPacket.Packet[] = [];
  const parser = mqttPacket.parser();
  parser.on('packet', (p) => received.push(p));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker did not close ${id}'s connection within 5 s; got ${JSON.stringify(received)}`)), 5000);
    const done = () => (clearTimeout(timer), resolve(received));
    if (transport === 'tcp') {
      const socket = tcpConnect(Number(new URL(env.ready.mqtt).port), '127.0.0.1', () => socket.write(data));
      socket.on('data', (d) => parser.parse(d));
      socket.on('error', () => {});
      socket.on('close', done);
    } else {
      const ws = new WebSocket(env.ready.ws, 'mqtt');
      ws.on('open', () => ws.send(data));
      ws.on('message', (d: Buffer) => parser.parse(d));
      ws.on('error', () => {});
      ws.on('close', done);
    }
  });
}


describe.each(['tcp', 'ws'] as const)('over %s', (transport) => {
  for (const [name, bytesFor] of Object.entries(cases)) {
    it(`closes the connection for ${name}, and delivers nothing of it`, async () => {
      const id = `bad-${transport}-${name.replace(/\W+/g, '-')}`.slice(0, 60);
      const received = await send(transport, id, bytesFor(id));
      expect(received.filter((p) => p.cmd !== 'connack')).toEqual([]);
      await env.barrier(id);
      expect(env.inbox.messages.filter((m) => m.topic.startsWith(`t/${id}`))).toEqual([]);
      expect(env.broker.hasEnded()).toBe(false);
    });
  }

  it('refuses a CONNECT whose will topic has + or #, is empty, or is $SYS or $mqlive, with a logged reason, and never publishes it', async () => {
    const names = { 'devices/w/#': 'hash', 'devices/+/status': 'plus', '': 'empty', $SYS: 'sys', $mqlive: 'mqlive' } as Record<string, string>;
    for (const topic of Object.keys(names)) {
      const id = `will-${transport}-${names[topic]}`;
      const received = await send(transport, id, topic === '' ? withEmptyWillTopic(id) : connectBytes(id, { topic, payload: Buffer.from('offline'), qos: 1, retain: true }));
      expect(received).toEqual([expect.objectContaining({ cmd: 'connack', returnCode: 5 })]);
      // The CONNACK can reach us before the broker's log line does: wait for the event itself.
      const refused = await env.broker.waitForEvent('will_refused', { where: { clientId: id } });
      expect(refused).toEqual(expect.objectContaining({ topic, reason: expect.stringMatching(/wildcard|empty|reserved|broker alone/) }));
    }
    await env.barrier(`will-${transport}`);
    for (const topic of Object.keys(names)) {
      expect(env.broker.events('will_refused').filter((e) => e.clientId === `will-${transport}-${names[topic]}`)).toHaveLength(1);
    }
    expect(env.inbox.messages.filter((m) => /[+#]/.test(m.topic))).toEqual([]);
  });

  it('delivers a retained message on a $ topic only to a filter that names its first level, not to # or + (MQTT-4.7.2-1)', async () => {
    const url = transport === 'tcp' ? env.ready.mqtt : env.ready.ws;
    const publisher = env.keep(await connect(env.ready.mqtt, { clientId: `dollar-pub-${transport}` }));
    await publisher.publishAsync(`$other/${transport}`, 'kept', { qos: 1, retain: true });
    const wide = env.keep(await connect(url, { clientId: `dollar-wide-${transport}` }));
    expect((await retainedOn(wide, ['#', '+/+'])).filter((m) => m.topic.startsWith('$'))).toEqual([]);
    const named = env.keep(await connect(url, { clientId: `dollar-named-${transport}` }));
    expect((await retainedOn(named, '$other/#')).map((m) => m.topic)).toContain(`$other/${transport}`);
  });
});

import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';

// The broker's leaner mqtt-packet (packet-memory.ts) must read and write exactly what the stock one does: a client
// whose bytes arrive one at a time (the parser's buffer list joining every piece) is served, and every reply that
// carries a 16-bit number (message ids, CONNACK, SUBACK, PUBACK) is byte for byte mqtt-packet's own encoding.

let env: TestBroker | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  socket?.destroy();
  await env?.close();
});

const CONNECT = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'lean', clean: true, keepalive: 0 });
// Message ids that need both bytes, and the largest one.
const SUBSCRIBE = mqttPacket.generate({ cmd: 'subscribe', messageId: 0x1234, subscriptions: [{ topic: 'lean/#', qos: 1 }] });
const PUBLISH = mqttPacket.generate({ cmd: 'publish', topic: 'lean/x', payload: Buffer.from('hello'), qos: 1, messageId: 0xffff, retain: false, dup: false });

describe('mqtt-packet without its number cache, and with a plain buffer list', () => {
  it('serves a client whose packets arrive one byte at a time, and answers with the bytes mqtt-packet generates', async () => {
    env = await startTestBroker();
    const received: Buffer[] = [];
    socket = tcpConnect(env.broker.mqttPort, '127.0.0.1');
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => socket!.once('connect', resolve));
    const bytes = Buffer.concat([CONNECT, SUBSCRIBE, PUBLISH]);
    for (let i = 0; i < bytes.length; i++) {
      socket.write(bytes.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r)); // each byte its own read on the broker's side
    }
    // Aedes answers in its own order (the PUBACK may come before the SUBACK): each reply is looked for whole.
    const replies = [
      mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
      mqttPacket.generate({ cmd: 'suback', messageId: 0x1234, granted: [1] }),
      mqttPacket.generate({ cmd: 'puback', messageId: 0xffff }),
    ];
    for (const reply of replies) await expect.poll(() => Buffer.concat(received).includes(reply), { timeout: 10_000 }).toBe(true);
    // The client's own message comes back to it, QoS 1 with an id of the broker's.
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    const publishes: mqttPacket.IPublishPacket[] = [];
    parser.on('packet', (p) => p.cmd === 'publish' && publishes.push(p));
    await expect.poll(() => (parser.parse(Buffer.concat(received.splice(0))), publishes.length), { timeout: 10_000 }).toBe(1);
    const delivered = publishes[0]!;
    expect(delivered).toMatchObject({ topic: 'lean/x', qos: 1 });
    expect(delivered.payload.toString()).toBe('hello');
  });

  it('keeps no 65,536-entry number table, and gives each connection a buffer list that is not a stream', async () => {
    env = await startTestBroker();
    expect(mqttPacket.writeToStream.cacheNumbers).toBe(false);
    const ws = new WebSocket(env.broker.wsUrl, 'mqtt');
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'lean-ws', clean: true, keepalive: 0 }));
    const clients = env.broker.aedes as unknown as { clients: Record<string, { _parser: { _list: object } }> };
    await expect.poll(() => clients.clients['lean-ws'] !== undefined).toBe(true);
    const list = clients.clients['lean-ws']!._parser._list as { pipe?: unknown; append?: unknown };
    expect(typeof list.append).toBe('function');
    expect(list.pipe).toBeUndefined(); // bl's BufferListStream is a Duplex, with pipe()
    ws.terminate();
  });
});

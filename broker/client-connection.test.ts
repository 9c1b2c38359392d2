import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientConnection, type Channel } from './client-connection';
import { PacketSizeGuard } from './packet-size-guard';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { connect } from '../test-support/mqtt';

let env: TestBroker | undefined;
afterEach(async () => {
  await env?.close();
});

describe('WebSocket framing', () => {
  it('sends each delivered PUBLISH in one frame, not one frame per piece (plain Aedes: 5 frames each)', async () => {
    env = await startTestBroker();
    const { broker } = env;
    const ws = new WebSocket(broker.wsUrl, 'mqtt');
    await new Promise((resolve) => ws.once('open', resolve));
    const frames: Buffer[] = [];
    ws.on('message', (data: Buffer) => frames.push(data));
    ws.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'frames', clean: true, keepalive: 0 }));
    ws.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'devices/#', qos: 0 }] }));
    await expect.poll(() => frames.length).toBeGreaterThanOrEqual(1); // CONNACK (and SUBACK)
    await expect.poll(() => Buffer.concat(frames).includes(Buffer.from([0x90, 0x03, 0x00, 0x01]))).toBe(true); // SUBACK
    const before = frames.length;

    const publisher = await connect(broker.mqttUrl);
    for (let i = 0; i < 100; i++) {
      await publisher.publishAsync('devices/laptop/mouse/move', JSON.stringify({ x: i, y: i, ts: 1, seq: i }));
      await new Promise((r) => setTimeout(r, 2)); // one at a time, as a mouse sends them
    }
    const received = () => {
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      let publishes = 0;
      parser.on('packet', (p) => p.cmd === 'publish' && publishes++);
      parser.parse(Buffer.concat(frames.slice(before)));
      return publishes;
    };
    await expect.poll(received).toBe(100);
    expect(frames.length - before).toBeLessThanOrEqual(100);
    publisher.end(true);
    ws.terminate();
  });
});

describe('PacketSizeGuard', () => {
  it('follows the framing across chunks and reports a packet over the limit or a broken length', () => {
    const guard = new PacketSizeGuard(100);
    const small = mqttPacket.generate({ cmd: 'publish', topic: 'a', payload: Buffer.alloc(50), qos: 0, retain: false, dup: false });
    const stream = Buffer.concat([small, small, small]);
    for (let i = 0; i < stream.length; i += 7) expect(guard.check(stream.subarray(i, i + 7))).toBeNull();
    const big = mqttPacket.generate({ cmd: 'publish', topic: 'a', payload: Buffer.alloc(200), qos: 0, retain: false, dup: false });
    expect(new PacketSizeGuard(100).check(big.subarray(0, 3))).toMatch(/a packet of 20\d bytes \(limit 100\)/);
    expect(new PacketSizeGuard(100).check(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]))).toMatch(/malformed remaining length/);
  });
});

describe('stall clock', () => {
  it('watches a client afresh after its clock ran out while it had caught up without emptying its queue', async () => {
    // A channel whose queued bytes the test sets: the network's part is covered by slow-consumer.test.ts.
    let queued = 0;
    const channel: Channel = { send() {}, queuedBytes: () => queued, pause() {}, resume() {}, end() {}, destroy() {} };
    const cutOff: string[] = [];
    const conn = new ClientConnection(channel, '127.0.0.1', { maxQueuedBytes: 1 << 30, stallBytes: 100, stallTimeoutMs: 50 }, (reason) => void cutOff.push(reason));
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    queued = 1000;
    conn.writePacket(Buffer.from([0xd0, 0x00])); // sent at the end of the turn: too much queued, the clock starts
    await sleep(10);
    queued = 50; // it reads, but does not empty its queue: no 'drain'
    await sleep(150); // the clock ran out while it was under the mark: not cut off
    expect(cutOff).toEqual([]);
    queued = 5000; // then it stops reading for good
    conn.writePacket(Buffer.from([0xd0, 0x00]));
    await expect.poll(() => cutOff, { timeout: 5000 }).toEqual([expect.stringMatching(/read nothing of 5000 queued bytes for 50 ms/)]);
    expect(conn.destroyed).toBe(true);
  });
});

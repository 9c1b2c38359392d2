import { connect as tcpConnect } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningBroker } from './broker';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { connect, subscribe } from '../test-support/mqtt';

// A viewer that subscribes to everything and then stops reading must neither stall the others
// (plain Aedes does: its shared delivery slots wait on the frozen socket) nor make the broker hold
// unbounded memory: it is cut off, and everyone else gets every message at their own pace.
const MESSAGES = 20_000;
const PAYLOAD = Buffer.alloc(1024, 'x');
const limits = { maxQueuedBytes: 8 * 1024 * 1024, stallTimeoutMs: 2000, stallBytes: 64 * 1024 };

let env: TestBroker | undefined;
let broker: RunningBroker;
afterEach(async () => {
  await env?.close();
});

const connectPacket = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'frozen', clean: true, keepalive: 0 });
const subscribePacket = mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'devices/#', qos: 0 }] });

/** A client that subscribes to devices/# and then never reads again. */
async function frozenClient(transport: 'tcp' | 'ws'): Promise<() => void> {
  if (transport === 'tcp') {
    const socket = tcpConnect(broker.mqttPort, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(Buffer.concat([connectPacket, subscribePacket]));
    await new Promise((resolve) => socket.once('data', resolve)); // CONNACK (and SUBACK)
    socket.pause();
    return () => socket.destroy();
  }
  const ws = new WebSocket(broker.wsUrl, 'mqtt');
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  ws.send(Buffer.concat([connectPacket, subscribePacket]));
  await new Promise((resolve) => ws.once('message', resolve));
  ws.pause();
  return () => ws.terminate();
}

describe('a frozen subscriber', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`over ${transport} is cut off, and an innocent subscriber gets all ${MESSAGES} 1 KiB messages`, async () => {
      // The publisher here floods on purpose: lift its rate limit, this test is about the readers.
      env = await startTestBroker({ outbound: limits, limits: { publishRate: 1e6, publishBurst: 1e6 } });
      ({ broker } = env);
      const { logs } = env;
      const release = await frozenClient(transport);
      const innocent = await connect(broker.wsUrl);
      await subscribe(innocent, 'devices/#', 0);
      let received = 0;
      const all = new Promise<void>((resolve) =>
        innocent.on('message', () => {
          if (++received === MESSAGES) resolve();
        }),
      );
      const publisher = await connect(broker.mqttUrl);
      try {
        for (let i = 0; i < MESSAGES; i++) {
          publisher.publish('devices/load/blob', PAYLOAD, { qos: 0 });
          if (i % 500 === 499) await new Promise((r) => setImmediate(r)); // let the socket breathe
        }
        await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`innocent got ${received} of ${MESSAGES}`)), 60_000))]);
        expect(received).toBe(MESSAGES);
        await expect.poll(() => broker.metrics.slowClientsCutOff, { timeout: 20_000 }).toBe(1);
        expect(logs.events('client_cut_off')).toContainEqual(expect.objectContaining({ kind: 'slow', clientId: 'frozen' }));
      } finally {
        release();
        innocent.end(true);
        publisher.end(true);
      }
    }, 120_000);
  }
});

import { connect as tcpConnect, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { MqttClient } from 'mqtt';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from './broker';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { connect, subscribe } from '../test-support/mqtt';

// Hostile clients over TCP and WebSocket: random and mutated packets, broken framing, packets out of order.
// After every batch the broker is up, /healthz answers, and an innocent subscriber connected the whole time
// has every message an innocent publisher sent it. Seeded, so a failure can be replayed.
const SEED = Number(process.env.MQLIVE_FUZZ_SEED ?? 20261125);
const BATCHES = 4;
const CONNECTIONS_PER_BATCH = 25;
const PACKETS_PER_CONNECTION = 40; // 2 transports x 4 batches x 25 x 40 = 8,000 packets

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let env: TestBroker;
let broker: RunningBroker;
let innocentSub: MqttClient;
let innocentPub: MqttClient;
let received = 0;
let sent = 0;
let innocentClosed = false;

beforeAll(async () => {
  env = await startTestBroker();
  broker = env.broker;
  innocentSub = await connect(broker.wsUrl, { clientId: 'innocent-sub' });
  innocentSub.on('close', () => (innocentClosed = true));
  // Only what the innocent publisher sends counts; fuzzers publishing to innocent/hijack must not add to it.
  innocentSub.on('message', (topic) => /^innocent\/(\d+|after-flood)$/.test(topic) && received++);
  await subscribe(innocentSub, 'innocent/#', 1);
  innocentPub = await connect(broker.mqttUrl, { clientId: 'innocent-pub' });
});

afterAll(async () => {
  innocentSub?.end(true);
  innocentPub?.end(true);
  await env?.close();
});

function packetFor(kind: number, rnd: () => number): Buffer {
  const topics = ['devices/x/mouse/click', 'a/b', '', '#', 'a/+/b', '$SYS/x', 'innocent/hijack', 'x'.repeat(300)];
  const topic = topics[Math.floor(rnd() * topics.length)]!;
  const packets: mqttPacket.Packet[] = [
    { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `fz${Math.floor(rnd() * 1e6)}`, clean: true, keepalive: 30 },
    { cmd: 'publish', topic: topic || 'a', payload: Buffer.from('{"x":1}'), qos: 0, retain: false, dup: false },
    { cmd: 'publish', topic: topic || 'a', payload: Buffer.alloc(Math.floor(rnd() * 2000), 0xff), qos: 1, messageId: 1 + Math.floor(rnd() * 65000), retain: rnd() < 0.2, dup: false },
    { cmd: 'publish', topic: topic || 'a', payload: Buffer.from('x'), qos: 2, messageId: 1 + Math.floor(rnd() * 65000), retain: false, dup: false },
    { cmd: 'subscribe', messageId: 1 + Math.floor(rnd() * 65000), subscriptions: [{ topic: topic || '#', qos: (Math.floor(rnd() * 3) as 0 | 1 | 2) }] },
    { cmd: 'unsubscribe', messageId: 1 + Math.floor(rnd() * 65000), unsubscriptions: [topic || 'a'] },
    { cmd: 'pingreq' },
    { cmd: 'puback', messageId: Math.floor(rnd() * 65535) },
    { cmd: 'pubrel', messageId: Math.floor(rnd() * 65535) },
    { cmd: 'disconnect' },
  ];
  try {
    return mqttPacket.generate(packets[kind % packets.length]!);
  } catch {
    return Buffer.from([0x30, 0x02, 0x00, 0x00]); // zero-length topic PUBLISH, written by hand
  }
}

/** A valid packet, then broken in one of the ways a hostile or buggy client breaks them. */
function hostilePacket(rnd: () => number): Buffer {
  const packet = packetFor(Math.floor(rnd() * 10), rnd);
  switch (Math.floor(rnd() * 8)) {
    case 0:
      return packet; // valid, but maybe before CONNECT, a second CONNECT, a wildcard or $SYS topic
    case 1: {
      const flipped = Buffer.from(packet);
      for (let i = 0; i < 1 + rnd() * 4; i++) {
        const at = Math.floor(rnd() * flipped.length);
        flipped[at] = flipped[at]! ^ (1 << Math.floor(rnd() * 8));
      }
      return flipped;
    }
    case 2:
      return packet.subarray(0, Math.floor(rnd() * packet.length)); // truncated
    case 3:
      return Buffer.concat([packet, Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)))]); // lengthened
    case 4:
      return Buffer.from([0x30 | Math.floor(rnd() * 16), 0xff, 0xff, 0xff, 0xff, 0x01]); // remaining length over 4 bytes
    case 5:
      return Buffer.from([0x32, 0x08, 0x00, 0x04, 0xc3, 0x28, 0xff, 0xfe, 0x00, 0x01]); // invalid UTF-8 in a topic
    case 6:
      return Buffer.concat([packet, packet, packet]); // repeated
    default:
      return Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 100) }, () => Math.floor(rnd() * 256))); // noise
  }
}

async function hostileConnection(transport: 'tcp' | 'ws', rnd: () => number): Promise<void> {
  const packets = Array.from({ length: PACKETS_PER_CONNECTION }, () => hostilePacket(rnd));
  if (rnd() < 0.7) packets.unshift(packetFor(0, rnd)); // usually CONNECT first, so later packets reach deeper
  await new Promise<void>((resolve) => {
    const done = setTimeout(finish, 300);
    let socket: Socket | WebSocket;
    function finish() {
      clearTimeout(done);
      if (socket instanceof WebSocket) socket.terminate();
      else socket.destroy();
      resolve();
    }
    if (transport === 'tcp') {
      socket = tcpConnect(broker.mqttPort, '127.0.0.1', () => packets.forEach((p) => (socket as Socket).write(p)));
      socket.on('error', () => {});
      socket.on('close', finish);
    } else {
      socket = new WebSocket(broker.wsUrl, 'mqtt');
      socket.on('open', () => packets.forEach((p) => (socket as WebSocket).send(p)));
      socket.on('error', () => {});
      socket.on('close', finish);
    }
  });
}

describe('hostile clients', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`${BATCHES} batches of random and mutated packets over ${transport}: nothing lost for the innocent`, async () => {
      const rnd = prng(SEED + (transport === 'tcp' ? 0 : 1));
      for (let batch = 0; batch < BATCHES; batch++) {
        const publishing = (async () => {
          for (let i = 0; i < 50; i++) {
            await innocentPub.publishAsync(`innocent/${batch}`, String(sent), { qos: 1 });
            sent += 1;
          }
        })();
        await Promise.all(Array.from({ length: CONNECTIONS_PER_BATCH }, () => hostileConnection(transport, rnd)));
        await publishing;
        const health = await fetch(broker.httpUrl + 'healthz');
        expect(health.status, `seed ${SEED}, batch ${batch}`).toBe(200);
        await expect.poll(() => received, { timeout: 10_000 }).toBe(sent);
        expect(innocentClosed).toBe(false);
        expect(innocentPub.connected).toBe(true);
      }
    }, 120_000);
  }

  it('1,000 connections opened and abandoned leave the broker serving everyone', async () => {
    const sockets: Socket[] = [];
    for (let i = 0; i < 1000; i++) {
      const s = tcpConnect(broker.mqttPort, '127.0.0.1');
      s.on('error', () => {});
      if (i % 2) s.on('connect', () => s.write(packetFor(0, Math.random)));
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const s of sockets) s.destroy();
    await innocentPub.publishAsync('innocent/after-flood', String(sent++), { qos: 1 });
    await expect.poll(() => received, { timeout: 10_000 }).toBe(sent);
    await expect.poll(() => broker.aedes.connectedClients, { timeout: 10_000 }).toBe(2);
  }, 60_000);
});

import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { startTestBrokerFor } from '../../test-support/broker';
import { subscribe } from '../../test-support/mqtt';
import { makeUsers } from '../../test-support/security';
import { teardownAfterEach } from '../../test-support/teardown';

// With the durable store a QoS 1 PUBACK waits until Aedes's publish of its message is done (ack-after-store.ts).
// Can a client make the broker hold a PUBACK forever: a publish that mqlive refuses, or one whose delivery waits
// on a subscriber that stopped reading?
const teardown = teardownAfterEach();

function dataDir(): string {
  return teardown.add(mkdtempSync(join(tmpdir(), 'mqlive-ack-')), (dir) => rmSync(dir, { recursive: true, force: true }));
}

/** Resolves when `promise` does, or fails after `ms` saying what did not come. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('a QoS 1 PUBACK held until the message is kept', () => {
  it('comes for a publish that mqlive refuses (MQTT 3.1.1: dropped after its PUBACK; MQTT 5: a PUBACK with a reason code)', async () => {
    const { data: users } = await makeUsers({ alice: 'device' });
    const env = await startTestBrokerFor(teardown, { dataDir: dataDir(), users });
    for (const protocolVersion of [4, 5] as const) {
      const alice = await env.login('alice', 'tcp', { clientId: `device-alice`, protocolVersion });
      // Not hers: refused by the rights.
      const acked = alice.publishAsync('devices/bob/status', 'offline', { qos: 1, retain: true }).then(
        () => 'PUBACK',
        (error: Error) => error.message,
      );
      expect(await within(acked, 5000, `PUBACK of a refused publish (MQTT ${protocolVersion})`)).toBe(protocolVersion === 5 ? 'Publish error: Not authorized' : 'PUBACK');
      alice.end(true);
    }
    expect(env.logs.events('publish_dropped')).toHaveLength(2);
  });

  it.each([true, false])('comes while a QoS 1 subscriber (clean: %s) has stopped reading: the publisher is not held', async (clean) => {
    const env = await startTestBrokerFor(teardown, {
      dataDir: dataDir(),
      outbound: { maxQueuedBytes: 1024 * 1024, stallTimeoutMs: 1000, stallBytes: 64 * 1024 },
      limits: { publishRate: 1e6, publishBurst: 1e6 },
    });
    // A QoS 1 subscriber that never reads after its SUBACK.
    const socket = tcpConnect(env.broker.mqttPort, '127.0.0.1');
    teardown.add(socket, (s) => s.destroy());
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'frozen', clean, keepalive: 0 }));
    socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'load/#', qos: 1 }] }));
    let seen = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        if (seen.length < 4 + 5) return; // CONNACK (4 bytes) and SUBACK (5)
        socket.off('data', onData);
        resolve();
      };
      socket.on('data', onData);
    });
    socket.pause();

    const publisher = await env.connect('tcp');
    const watcher = await env.connect('tcp');
    await subscribe(watcher, 'load/#', 0);
    const payload = Buffer.alloc(64 * 1024, 'x');
    // 4 MiB: four times what the frozen subscriber may have waiting.
    for (let n = 0; n < 64; n++) await within(publisher.publishAsync(`load/${n}`, payload, { qos: 1 }), 10_000, `PUBACK ${n}`);
  }, 30_000);
});

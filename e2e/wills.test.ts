import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, spawnProcess, type Spawned } from '../test-support/processes';
import { RawClient } from '../test-support/raw-client';
import { teardownAfterEach } from '../test-support/teardown';
import { requireTool } from '../test-support/tools';

// Issue 29, item 5: wills of publishers killed with `kill -9` were lost for subscribers that also read `$SYS/#`.
// Aedes numbers a message as its publish starts and dropped, for each subscriber, any message numbered below one
// it had already delivered. A will waits for the retained store; the broker's `$SYS/…/disconnect/clients` for the
// same client is numbered after it and arrives first, so the will looked like a duplicate (aedes #994).
const teardown = teardownAfterEach();

/** The compiled broker, keeping nothing (`none`) or in a data folder of its own (the durable store, `make up`'s way). */
async function startBroker(dataDir: 'none' | 'temporary' = 'none'): Promise<ReadyEvent> {
  let folder = 'none';
  if (dataDir === 'temporary') folder = teardown.add(mkdtempSync(join(tmpdir(), 'mqlive-wills-')), (f) => rmSync(f, { recursive: true, force: true }));
  const broker = teardown.add(spawnMqlive(['broker', '--data-dir', folder, '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json']), (b) => b.stop('SIGKILL'));
  return brokerReady(broker);
}

function startPublisher(url: string, device: string): Spawned {
  return teardown.add(spawnMqlive(['publisher', '--url', url, '--device', device, '--source', 'demo', '--log-format', 'json']), (p) => p.stop('SIGKILL'));
}

describe('wills reach every subscriber', () => {
  it("a publisher killed with kill -9: its will reaches mosquitto_sub, an MQTT 5 and a 3.1.1 subscriber that also read $SYS/#", async () => {
    requireTool('mosquitto_sub', 'mosquitto-clients');
    const ready = await startBroker();
    const port = new URL(ready.mqtt).port;
    // The issue's own command: both filters in one SUBSCRIBE, MQTT 3.1.1, QoS 0.
    const sub = teardown.add(spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-t', 'devices/#', '-t', '$SYS/#', '-v']), (p) => p.stop('SIGKILL'));
    // The viewer's way (MQTT 5, QoS 1) and a 3.1.1 client at QoS 1 (Aedes's own QoS path), each with $SYS/#.
    const inboxes: Inbox[] = [];
    for (const protocolVersion of [5, 4] as const) {
      const client = teardown.add(await connect(ready.mqtt, { protocolVersion }), (c) => c.end(true));
      expect(await subscribe(client, ['devices/#', '$SYS/#'], 1)).toEqual([1, 1]);
      inboxes.push(new Inbox(client));
    }
    const devices = ['will-a', 'will-b', 'will-c'];
    const publishers = devices.map((device) => startPublisher(ready.mqtt, device));
    for (const device of devices) {
      for (const inbox of inboxes) await inbox.waitFor((m) => m.topic === `devices/${device}/status` && m.text === 'online', 20_000, `${device} online`);
      // In any order among the three: the whole output, not from a cursor.
      await expect.poll(() => sub.output(), { timeout: 20_000 }).toMatch(new RegExp(`^devices/${device}/status online$`, 'm'));
    }
    for (const [i, publisher] of publishers.entries()) {
      expect(await publisher.stop('SIGKILL')).toBe('SIGKILL');
      const status = `devices/${devices[i]}/status`;
      for (const inbox of inboxes) await inbox.waitFor((m) => m.topic === status && m.text === 'offline', 5000, `${status} offline (the will)`);
      await expect.poll(() => sub.output(), { timeout: 5000, message: `mosquitto_sub got ${status} offline (the will)` }).toMatch(new RegExp(`^${status} offline$`, 'm'));
    }
  }, 90_000);

  it("the viewer's subscription (devices/#, MQTT 5, QoS 1), several publishers moving, the durable store: each kill -9 brings its will", async () => {
    // No $SYS/# here: another device's move, numbered while a will waits for the store to write it, overtook it.
    const ready = await startBroker('temporary');
    const viewer = teardown.add(await connect(ready.mqtt, { protocolVersion: 5 }), (c) => c.end(true));
    const inbox = new Inbox(viewer);
    expect(await subscribe(viewer, 'devices/#', 1)).toEqual([1]);
    const devices = ['many-a', 'many-b', 'many-c', 'many-d', 'many-e'];
    const publishers = devices.map((device) => startPublisher(ready.mqtt, device));
    for (const device of devices) await inbox.waitFor((m) => m.topic === `devices/${device}/status` && m.text === 'online', 30_000, `${device} online`);
    for (const [i, publisher] of publishers.entries()) {
      expect(await publisher.stop('SIGKILL')).toBe('SIGKILL');
      const status = `devices/${devices[i]}/status`;
      await inbox.waitFor((m) => m.topic === status && m.text === 'offline', 5000, `${status} offline (the will)`);
    }
  }, 90_000);

  it('a retained message followed in the same write by a plain one: a subscriber gets both, once each (the first is not taken for a duplicate)', async () => {
    const ready = await startBroker();
    const endpoint = { mqtt: ready.mqtt, ws: ready.ws };
    for (const [protocolVersion, qos] of [
      [4, 0],
      [4, 1],
      [5, 0],
      [5, 1],
    ] as const) {
      const id = `v${protocolVersion}q${qos}`;
      const reader = teardown.add((await RawClient.open(endpoint, 'tcp', { clientId: `reader-${id}`, protocolVersion })).client, (r) => r.end());
      // At QoS 0 the delivery takes the QoS 0 path whatever the message's QoS; at QoS 1 the QoS 1 one takes Aedes's (3.1.1) or the Receive Maximum window (5).
      // Two filters that both match: each message still comes once (what Aedes's duplicate check is for).
      reader.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `order/${id}/#`, qos }, { topic: `order/${id}/+`, qos }] });
      await reader.waitFor((p) => p.cmd === 'suback', 'SUBACK');
      const writer = teardown.add((await RawClient.open(endpoint, 'tcp', { clientId: `writer-${id}`, protocolVersion })).client, (w) => w.end());
      const publish = (topic: string, q: 0 | 1, retain: boolean, messageId?: number): mqttPacket.IPublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from(topic), qos: q, retain, dup: false, ...(messageId && { messageId }) });
      // The retained publish waits for the retained store before delivery (as a will does); the plain one after it does not.
      writer.send(publish(`order/${id}/first`, 0, true), publish(`order/${id}/second`, 0, false));
      // A barrier: the same writer's next QoS 1 publish, acknowledged, comes after both.
      writer.send(publish(`order/${id}/barrier`, 1, false, 2));
      await writer.waitFor((p) => p.cmd === 'puback' && p.messageId === 2, 'PUBACK of the barrier');
      await reader.waitFor((p) => p.cmd === 'publish' && p.topic === `order/${id}/barrier`, 'the barrier');
      expect(
        reader
          .publishes()
          .map((p) => p.topic)
          .sort(),
        `MQTT ${protocolVersion === 5 ? 5 : '3.1.1'}, subscribed at QoS ${qos}`,
      ).toEqual([`order/${id}/barrier`, `order/${id}/first`, `order/${id}/second`]);
    }
  }, 60_000);
});

import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { startMqtt311Broker } from '../test-support/mqtt311-broker';
import { freePort } from '../test-support/ports';
import { connectDevice, InvalidPayloadError, OfflineQueue, type DeviceClient } from './device-client';
import type { DeviceMeta } from './payloads';

const meta: DeviceMeta = {
  name: 'pi',
  kind: 'mouse',
  source: 'demo',
  screen: null,
  host: 'pi',
  version: '0',
  schema: 1,
  startedAt: 1,
};
const click = (seq: number) => ({ x: seq, y: seq, button: 'left' as const, pressed: true, ts: 1, seq });

describe('OfflineQueue', () => {
  it('keeps QoS 1 messages in order up to its limit, dropping the oldest', () => {
    const q = new OfflineQueue(3);
    for (let i = 0; i < 5; i++) q.push({ topic: 't', payload: String(i), qos: 1, retain: false });
    expect(q.dropped).toBe(2);
    expect(q.drain().map((m) => m.payload)).toEqual(['2', '3', '4']);
    expect(q.size).toBe(0);
  });

  it('keeps only the latest QoS 0 message per topic, after the QoS 1 ones', () => {
    const q = new OfflineQueue(10);
    q.push({ topic: 'move', payload: 'a', qos: 0, retain: false });
    q.push({ topic: 'click', payload: '1', qos: 1, retain: false });
    q.push({ topic: 'move', payload: 'b', qos: 0, retain: false });
    q.push({ topic: 'other', payload: 'x', qos: 0, retain: false });
    expect(q.drain().map((m) => m.payload)).toEqual(['1', 'b', 'x']);
  });

  it('holds what a plain list would, whatever the limit and the order of pushes and drains (a ring: O(1) to drop)', () => {
    const step = fc.oneof(fc.record({ qos: fc.constantFrom(0 as const, 1 as const), topic: fc.constantFrom('a', 'b') }), fc.constant('drain' as const));
    fc.assert(
      fc.property(fc.nat(6), fc.array(step, { maxLength: 60 }), (limit, steps) => {
        const q = new OfflineQueue(limit);
        let reliable: string[] = [];
        const latest = new Map<string, string>();
        let dropped = 0;
        steps.forEach((s, i) => {
          if (s === 'drain') {
            expect(q.drain().map((m) => m.payload)).toEqual([...reliable, ...latest.values()]);
            reliable = [];
            latest.clear();
            return;
          }
          q.push({ topic: s.topic, payload: String(i), qos: s.qos, retain: false });
          if (s.qos === 0) latest.set(s.topic, String(i));
          else {
            reliable = [...reliable, String(i)];
            if (reliable.length > limit) {
              reliable = reliable.slice(1);
              dropped += 1;
            }
          }
          expect(q.size).toBe(reliable.length + latest.size);
        });
        expect(q.dropped).toBe(dropped);
      }),
      { numRuns: 300, seed: 20261206 },
    );
  });
});

describe('DeviceClient against a real broker', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function viewerOn(url: string): Promise<{ viewer: MqttClient; inbox: Inbox }> {
    const viewer = await connect(url);
    cleanup.push(() => viewer.end(true));
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/#');
    return { viewer, inbox };
  }

  function device(url: string, options: Partial<Parameters<typeof connectDevice>[0]> = {}): DeviceClient {
    const d = connectDevice({ url, device: 'pi', meta: () => meta, ...options });
    cleanup.push(() => d.client.end(true));
    return d;
  }

  it('auto: MQTT 5 first; a broker that refuses it gets MQTT 3.1.1 on the same client, said once, with one accepted connection', async () => {
    const old = await startMqtt311Broker();
    cleanup.push(() => old.close());
    const { inbox } = await viewerOn(old.url);
    let fallbacks = 0;
    const d = device(old.url, { onFallback: () => (fallbacks += 1) });
    await inbox.waitFor((m) => m.topic === 'devices/pi/status' && m.text === 'online');
    expect(d.client.options.protocolVersion).toBe(4);
    expect(fallbacks).toBe(1);
    expect(old.accepted.filter((id) => id === 'device-pi')).toHaveLength(1);
    // A reconnect stays on 3.1.1: nothing more is refused, nothing more is said.
    const refusedBefore = old.refused();
    d.client.stream.destroy();
    await expect.poll(() => old.accepted.filter((id) => id === 'device-pi').length).toBe(2);
    expect(old.refused()).toBe(refusedBefore);
    expect(fallbacks).toBe(1);
  });

  it('auto against mqlive\'s broker: MQTT 5, nothing refused, nothing said', async () => {
    const env = await startTestBroker();
    cleanup.push(() => env.close());
    const { inbox } = await viewerOn(env.broker.wsUrl);
    let fallbacks = 0;
    const d = device(env.broker.mqttUrl, { onFallback: () => (fallbacks += 1) });
    await inbox.waitFor((m) => m.topic === 'devices/pi/status' && m.text === 'online');
    expect([d.client.options.protocolVersion, fallbacks]).toEqual([5, 0]);
    expect(env.logs.events('connection_refused')).toHaveLength(0);
  });

  it('--protocol 5 does not fall back, --protocol 3.1.1 never tries 5', async () => {
    const old = await startMqtt311Broker();
    cleanup.push(() => old.close());
    let fallbacks = 0;
    const five = device(old.url, { protocol: '5', onFallback: () => (fallbacks += 1), mqtt: { reconnectPeriod: 0 } });
    await new Promise<void>((resolve) => five.client.once('close', () => resolve()));
    expect([five.online, five.client.options.protocolVersion, fallbacks]).toEqual([false, 5, 0]);
    const refused = old.refused();
    const older = connectDevice({ url: old.url, device: 'old', meta: () => null, protocol: '3.1.1' });
    cleanup.push(() => older.client.end(true));
    await new Promise<void>((resolve) => older.client.once('connect', () => resolve()));
    expect(old.refused()).toBe(refused);
  });

  it('announces online and meta (retained), and publishes offline on close', async () => {
    const { broker } = await startTestBroker();
    cleanup.push(() => broker.close());
    const d = device(broker.mqttUrl);
    const { inbox } = await viewerOn(broker.wsUrl);
    await inbox.waitFor((m) => m.topic === 'devices/pi/meta');
    // Retained: a viewer that comes later gets both.
    const { inbox: late } = await viewerOn(broker.wsUrl);
    expect(await late.waitFor((m) => m.topic === 'devices/pi/status')).toMatchObject({ text: 'online', retain: true });
    const metaMsg = await late.waitFor((m) => m.topic === 'devices/pi/meta');
    expect(metaMsg.retain).toBe(true);
    expect(JSON.parse(metaMsg.text)).toEqual(meta);
    await d.close();
    await inbox.waitFor((m) => m.topic === 'devices/pi/status' && m.text === 'offline');
  });

  it('sends what was published before the connection was up when closed at once, then offline, and disconnects cleanly', async () => {
    const { broker } = await startTestBroker();
    cleanup.push(() => broker.close());
    const { inbox } = await viewerOn(broker.mqttUrl);
    const d = device(broker.mqttUrl);
    await d.publish('devices/pi/temperature/celsius', '21.5');
    await d.close();
    expect(d.client.disconnected).toBe(true);
    // Every message arrived before close() returned: online, meta, the reading, then offline (by the device
    // itself: a will would wait for the keep-alive to run out).
    // (MQTT orders messages per topic; the QoS 0 reading may pass the QoS 1 meta.)
    const got = inbox.messages.map((m) => `${m.topic} ${m.topic.endsWith('meta') ? '' : m.text}`.trim());
    expect([...got].sort()).toEqual(['devices/pi/meta', 'devices/pi/status offline', 'devices/pi/status online', 'devices/pi/temperature/celsius 21.5']);
    expect(got.filter((m) => m.startsWith('devices/pi/status'))).toEqual(['devices/pi/status online', 'devices/pi/status offline']);
  });

  it('gives up closing after its bound when the broker never answers, and says what was not sent', async () => {
    const d = device(`mqtt://127.0.0.1:${await freePort()}`);
    await d.publish('devices/pi/temperature/celsius', '21.5');
    await d.publish('devices/pi/temperature/celsius', '21.6', { qos: 1 });
    await expect(d.close(300)).rejects.toThrow(/2 queued messages were not sent: no connection to the broker within 0\.3 s/);
    expect(d.client.disconnecting || d.client.disconnected).toBe(true);
  });

  it('leaves its will behind when the connection dies', async () => {
    const { broker } = await startTestBroker();
    cleanup.push(() => broker.close());
    const d = device(broker.mqttUrl, { mqtt: { reconnectPeriod: 0 } });
    const { inbox } = await viewerOn(broker.wsUrl);
    await inbox.waitFor((m) => m.topic === 'devices/pi/status' && m.text === 'online');
    d.client.stream.destroy();
    await inbox.waitFor((m) => m.topic === 'devices/pi/status' && m.text === 'offline');
  });

  it('refuses a payload that breaks the contract, before it reaches the broker', async () => {
    const { broker } = await startTestBroker();
    cleanup.push(() => broker.close());
    const d = device(broker.mqttUrl);
    // @ts-expect-error a click needs button and pressed
    await expect(d.publish('devices/pi/mouse/click', { x: 1, y: 2, ts: 1, seq: 0 })).rejects.toThrow(InvalidPayloadError);
    await expect(d.publish('devices/pi/status', 'busy' as 'online')).rejects.toThrow(/not published to devices\/pi\/status: status must be/);
  });

  it('queues clicks while the broker is away and sends them in order when it is back', async () => {
    const first = await startTestBroker();
    const port = first.broker.mqttPort;
    // No automatic reconnect: the test reconnects the device once the new broker has a subscriber.
    const d = device(first.broker.mqttUrl, { mqtt: { reconnectPeriod: 0 } });
    await expect.poll(() => d.online, { timeout: 5000 }).toBe(true);
    await first.broker.close();
    await expect.poll(() => d.online, { timeout: 5000 }).toBe(false);

    for (let seq = 0; seq < 20; seq++) await d.publish('devices/pi/mouse/click', click(seq), { qos: 1 });
    expect(d.queue.size).toBe(20);

    const { broker: second } = await startTestBroker({ mqttPort: port });
    cleanup.push(() => second.close());
    const { inbox } = await viewerOn(second.mqttUrl);
    d.client.reconnect();
    const clicks = await inbox.waitForCount('devices/pi/mouse/click', 20);
    expect(clicks.map((m) => JSON.parse(m.text).seq)).toEqual([...Array(20).keys()]);
    expect(d.queue.size).toBe(0);
  });
});

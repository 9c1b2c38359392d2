import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../test-support/mosquitto';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { spawnMqlive } from '../test-support/processes';

// mqlive's publisher speaks plain MQTT 3.1.1: it works against Debian's Mosquitto as it does against its own
// broker, and a WebSocket subscriber (what the viewer is) sees the same topics there.
let mosquitto: Mosquitto;

beforeAll(async () => {
  mosquitto = await startMosquitto();
});

afterAll(async () => {
  await mosquitto?.stop();
});

describe('against Mosquitto', () => {
  it('the publisher announces itself and publishes events that a WebSocket subscriber receives; offline on stop', async () => {
    const viewer = await connect(`ws://127.0.0.1:${mosquitto.wsPort}/mqtt`);
    const inbox = new Inbox(viewer);
    await subscribe(viewer, 'devices/#');
    const p = spawnMqlive(['publisher', '--url', `mqtt://127.0.0.1:${mosquitto.mqttPort}`, '--device', 'mosq', '--source', 'demo', '--log-format', 'json']);
    try {
      expect(await inbox.waitFor((m) => m.topic === 'devices/mosq/status', 15_000)).toMatchObject({ text: 'online' });
      expect(JSON.parse((await inbox.waitFor((m) => m.topic === 'devices/mosq/meta')).text)).toMatchObject({ source: 'demo' });
      await inbox.waitFor((m) => m.topic === 'devices/mosq/mouse/move');
      await inbox.waitFor((m) => m.topic === 'devices/mosq/mouse/click', 10_000);
      await viewer.publishAsync('clients/v/messages', JSON.stringify({ text: 'via mosquitto', ts: Date.now() }), { qos: 1 });
      await p.waitForEvent('client_message', { where: { from: 'v', text: 'via mosquitto' } });
      expect(await p.stop('SIGTERM')).toBe(0);
      await inbox.waitFor((m) => m.topic === 'devices/mosq/status' && m.text === 'offline');
    } finally {
      await p.stop('SIGKILL');
      viewer.end(true);
    }
  });

  it('the publisher speaks MQTT 5 to it (auto): JSON says its content type, a move expires after a second', async () => {
    const viewer = await connect(`mqtt://127.0.0.1:${mosquitto.mqttPort}`, { protocolVersion: 5 });
    const received: { topic: string; properties: Record<string, unknown> }[] = [];
    viewer.on('message', (topic, _payload, packet) => received.push({ topic, properties: { ...packet.properties } }));
    await subscribe(viewer, 'devices/five/#');
    const p = spawnMqlive(['publisher', '--url', `mqtt://127.0.0.1:${mosquitto.mqttPort}`, '--device', 'five', '--source', 'demo', '--log-format', 'json']);
    try {
      await expect.poll(() => received.some((m) => m.topic === 'devices/five/mouse/move'), { timeout: 15_000 }).toBe(true);
      await expect.poll(() => received.some((m) => m.topic === 'devices/five/meta')).toBe(true);
      const meta = received.find((m) => m.topic === 'devices/five/meta')!;
      expect(meta.properties).toMatchObject({ contentType: 'application/json', payloadFormatIndicator: true });
      const move = received.find((m) => m.topic === 'devices/five/mouse/move')!;
      expect(move.properties).toMatchObject({ contentType: 'application/json', messageExpiryInterval: expect.any(Number) });
      expect(move.properties.messageExpiryInterval).toBeLessThanOrEqual(1);
      expect(received.find((m) => m.topic === 'devices/five/status')!.properties).not.toHaveProperty('contentType');
      await p.waitForEvent('connected', { where: { device: 'five', protocol: '5' } });
      expect(p.events('protocol_fallback')).toEqual([]); // said before connected, if at all
    } finally {
      await p.stop('SIGKILL');
      viewer.end(true);
    }
  });
});

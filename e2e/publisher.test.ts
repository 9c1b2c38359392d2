import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMessage } from '../protocol';
import { startTestBroker } from '../test-support/broker';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { spawnMqlive } from '../test-support/processes';

// The publisher CLI as a person runs it, with the demo source, against a real broker.
let env: Awaited<ReturnType<typeof startTestBroker>>;
let viewer: MqttClient;

beforeAll(async () => {
  env = await startTestBroker();
  viewer = await connect(env.broker.wsUrl);
});

afterAll(async () => {
  viewer?.end(true);
  await env?.broker.close();
});

async function watch(device: string) {
  const inbox = new Inbox(viewer);
  await subscribe(viewer, `devices/${device}/#`);
  return inbox;
}

describe('publisher with the demo source', () => {
  it('announces itself, publishes valid numbered events, prints clicks and replies, and says offline on SIGTERM', async () => {
    const inbox = await watch('demo1');
    const p = spawnMqlive(['publisher', '--url', env.broker.wsUrl, '--device', 'demo1', '--source', 'demo'], { MQLIVE_LOG_FORMAT: 'json' });
    try {
      await p.waitForEvent('source', { where: { source: 'demo', why: 'asked' } });
      // mqlive's broker speaks MQTT 5: --protocol auto uses it.
      await p.waitForEvent('connected', { where: { url: env.broker.wsUrl, device: 'demo1', source: 'demo', protocol: '5' } });
      expect(await inbox.waitFor((m) => m.topic === 'devices/demo1/status')).toMatchObject({ text: 'online' });
      const meta = JSON.parse((await inbox.waitFor((m) => m.topic === 'devices/demo1/meta')).text);
      expect(meta).toMatchObject({ name: 'demo1', kind: 'mouse', source: 'demo', screen: { width: 1920, height: 1080 }, schema: 1 });

      // A click comes every 1.5 s in the demo; wait for its release.
      await inbox.waitFor((m) => m.topic === 'devices/demo1/mouse/click' && JSON.parse(m.text).pressed === false, 10_000);
      const events = inbox.messages.filter((m) => m.topic.startsWith('devices/demo1/mouse/'));
      for (const e of events) expect(checkMessage(e.topic, Buffer.from(e.text))).toMatchObject({ ok: true });
      // In order on each topic; across topics (QoS 0 moves, QoS 1 clicks) seq restores the order.
      for (const topic of new Set(events.map((e) => e.topic))) {
        const onTopic = events.filter((e) => e.topic === topic).map((e) => JSON.parse(e.text).seq);
        expect(onTopic).toEqual([...onTopic].sort((a, b) => a - b));
      }
      const seqs = events.map((e) => JSON.parse(e.text).seq);
      expect(new Set(seqs).size).toBe(seqs.length);

      // The path back: a viewer's reply is printed by the device.
      await viewer.publishAsync('clients/viewer-7/messages', JSON.stringify({ text: 'hello device', ts: Date.now() }), { qos: 1 });
      await p.waitForEvent('client_message', { where: { from: 'viewer-7', text: 'hello device' } });
      // The demo's clicks are counted in the summary, not a line each (they would bury make up's banner); the
      // reply, printed after the click above, is the barrier.
      expect(p.events('click')).toEqual([]);

      p.child.kill('SIGTERM');
      await p.waitForEvent('stopping', { where: { signal: 'SIGTERM' } });
      expect(await p.exited).toBe(0);
      await inbox.waitFor((m) => m.topic === 'devices/demo1/status' && m.text === 'offline');
      expect(p.events('connection_problem')).toEqual([]);
      expect(p.events('protocol_fallback')).toHaveLength(0);
      // With MQLIVE_LOG_FORMAT=json, every line is one JSON event.
      for (const line of p.output().trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ event: expect.any(String), msg: expect.any(String) });
    } finally {
      await p.stop('SIGKILL');
    }
  });

  it('leaves its will (offline) when killed with SIGKILL, and is online again when restarted', async () => {
    const inbox = await watch('demo2');
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'demo2', '--source', 'demo']);
    await inbox.waitFor((m) => m.topic === 'devices/demo2/status' && m.text === 'online', 15_000);
    expect(await p.stop('SIGKILL')).toBe('SIGKILL');
    const offline = await inbox.waitFor((m) => m.topic === 'devices/demo2/status' && m.text === 'offline');
    expect(offline.retain).toBe(false); // live delivery; the broker keeps it retained for newcomers
    const late = await connect(env.broker.mqttUrl);
    const lateInbox = new Inbox(late);
    await subscribe(late, 'devices/demo2/status');
    expect(await lateInbox.waitFor((m) => m.topic === 'devices/demo2/status')).toMatchObject({ text: 'offline', retain: true });
    late.end(true);

    // A restarted publisher shows online again.
    inbox.messages.length = 0;
    const again = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'demo2', '--source', 'demo']);
    try {
      await inbox.waitFor((m) => m.topic === 'devices/demo2/status' && m.text === 'online', 15_000);
    } finally {
      await again.stop('SIGTERM');
    }
  });

  it('--source auto without a display says so in one line and uses the demo source', async () => {
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'demo3'], { DISPLAY: '' });
    try {
      await p.waitForOutput(/Connected to/);
      const lines = p.output().split('\n');
      // mqlive's broker speaks MQTT 5: nothing to fall back from (e2e/other-broker.test.ts has a broker that refuses it).
      expect(lines.filter((l) => l.includes('MQTT 5') || l.includes('CONNACK'))).toEqual([]);
      // evdev's reason depends on the machine's /dev/input (CI has none).
      expect(lines[0]).toMatch(
        /^Cannot capture with uiohook \(no X display: DISPLAY is not set \(uiohook needs X11 or XWayland\)\) or evdev \(.+\); using the demo source instead\.$/,
      );
    } finally {
      expect(await p.stop('SIGINT')).toBe(0);
    }
  });

  it('refuses a bad device id or flag with a clear line and exit code 2', async () => {
    const bad = spawnMqlive(['publisher', '--device', 'my/laptop']);
    expect(await bad.exited).toBe(2);
    expect(bad.output().trim()).toBe(`mqlive publisher: invalid device id "my/laptop": an id may use only letters, digits, '_' and '-'; '/' (the MQTT topic level separator) is not allowed`);
    const flag = spawnMqlive(['publisher', '--source', 'pynput']);
    expect(await flag.exited).toBe(2);
    expect(flag.output().trim()).toBe('mqlive publisher: --source must be one of auto, uiohook, evdev, demo, replay:FILE (got "pynput")');
    const protocol = spawnMqlive(['publisher', '--protocol', '4']);
    expect(await protocol.exited).toBe(2);
    expect(protocol.output().trim()).toBe('mqlive publisher: --protocol must be one of auto, 5, 3.1.1 (got "4")');
  });
});

import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { repeatUntil, spawnProcess, spawnTs } from '../test-support/processes';
import { requireTool } from '../test-support/tools';

// Publishers nobody planned for, and the MQTT tools people already have, against the running broker.
let env: Awaited<ReturnType<typeof startTestBroker>>;
let viewer: MqttClient;
let inbox: Inbox;

beforeAll(async () => {
  requireTool('mosquitto_pub', 'mosquitto-clients');
  env = await startTestBroker();
  viewer = await connect(env.broker.wsUrl);
  inbox = new Inbox(viewer);
  await subscribe(viewer, ['devices/#', 'clients/+/messages']);
});

afterAll(async () => {
  viewer?.end(true);
  await env?.broker.close();
});

describe('extra publishers', () => {
  it('the system example announces itself and publishes load and memory every interval', async () => {
    const p = spawnTs('publisher/examples/system-load.ts', ['--url', env.broker.mqttUrl, '--device', 'sys', '--every', '200']);
    try {
      expect(await inbox.waitFor((m) => m.topic === 'devices/sys/status', 15_000)).toMatchObject({ text: 'online' });
      expect(JSON.parse((await inbox.waitFor((m) => m.topic === 'devices/sys/meta')).text)).toMatchObject({ kind: 'system', source: 'os', screen: null });
      const load = await inbox.waitFor((m) => m.topic === 'devices/sys/system/load');
      expect(load.text).toMatch(/^\d+(\.\d+)?$/); // os.loadavg()'s one-minute figure, as a plain number
      const memory = JSON.parse((await inbox.waitFor((m) => m.topic === 'devices/sys/system/memory')).text);
      expect(memory.usedMB).toBeLessThanOrEqual(memory.totalMB);
      await inbox.waitForCount('devices/sys/system/load', 3);
      expect(await p.stop('SIGTERM')).toBe(0);
      await inbox.waitFor((m) => m.topic === 'devices/sys/status' && m.text === 'offline');
    } finally {
      await p.stop('SIGKILL');
    }
  });

  it('a sensor reading from mosquitto_pub, retained, reaches a WebSocket subscriber and a late one', async () => {
    const port = String(env.broker.mqttPort);
    const pub = spawnProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 'devices/pi/temperature/celsius', '-r', '-m', '21.5']);
    expect(await pub.exited).toBe(0);
    expect((await inbox.waitFor((m) => m.topic === 'devices/pi/temperature/celsius')).text).toBe('21.5');
    const late = await connect(env.broker.mqttUrl);
    const lateInbox = new Inbox(late);
    await subscribe(late, 'devices/pi/#');
    expect(await lateInbox.waitFor((m) => m.topic === 'devices/pi/temperature/celsius')).toMatchObject({ text: '21.5', retain: true });
    late.end(true);
  });

  it("MQTT.js's own CLI publishes and subscribes against the broker", async () => {
    const port = String(env.broker.mqttPort);
    const sub = spawnProcess(process.execPath, ['node_modules/mqtt/build/bin/mqtt.js', 'sub', '-h', '127.0.0.1', '-p', port, '-t', 'devices/cli/#', '-v']);
    try {
      const reading = JSON.stringify({ lux: 300 });
      // Its SUBSCRIBE cannot be seen going through: publish until it has printed the reading.
      await repeatUntil(() => sub.output().includes(reading), async () => {
        const pub = spawnProcess(process.execPath, ['node_modules/mqtt/build/bin/mqtt.js', 'pub', '-h', '127.0.0.1', '-p', port, '-t', 'devices/cli/light', '-m', reading]);
        expect(await pub.exited).toBe(0);
      });
      await sub.waitForOutput(/devices\/cli\/light \{"lux":300\}/);
      await inbox.waitFor((m) => m.topic === 'devices/cli/light');
    } finally {
      await sub.stop('SIGTERM');
    }
  });
});

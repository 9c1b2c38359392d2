import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { repeatUntil, spawnProcess } from '../test-support/processes';
import { requireTool } from '../test-support/tools';

// Interop with clients nobody here wrote: Debian's mosquitto_sub and mosquitto_pub over TCP.
let env: Awaited<ReturnType<typeof startTestBroker>>;
let ws: MqttClient;

beforeAll(async () => {
  requireTool('mosquitto_sub', 'mosquitto-clients');
  env = await startTestBroker();
  ws = await connect(env.broker.wsUrl);
});

afterAll(async () => {
  ws?.end(true);
  await env?.broker.close();
});

describe('mosquitto clients', () => {
  it('mosquitto_sub sees what an MQTT.js client publishes over WebSocket', async () => {
    const sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(env.broker.mqttPort), '-t', 'devices/#', '-v', '-C', '1', '-W', '10']);
    const move = JSON.stringify({ x: 100, y: 200, ts: Date.now(), seq: 0 });
    // Its SUBSCRIBE cannot be seen going through: publish until it has printed one message (-C 1).
    await repeatUntil(sub.hasEnded, () => ws.publishAsync('devices/laptop/mouse/move', move), 50, 100);
    expect(await sub.exited).toBe(0);
    expect(sub.output().trim()).toBe(`devices/laptop/mouse/move ${move}`);
  });

  it('a WebSocket subscriber sees what mosquitto_pub publishes, retained or not', async () => {
    const inbox = new Inbox(ws);
    await subscribe(ws, ['clients/+/messages', 'devices/+/status']);
    const reply = JSON.stringify({ text: 'hi from mosquitto_pub', ts: Date.now() });
    const pub = spawnProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(env.broker.mqttPort), '-t', 'clients/cli/messages', '-q', '1', '-m', reply]);
    expect(await pub.exited).toBe(0);
    expect((await inbox.waitFor((m) => m.topic === 'clients/cli/messages')).text).toBe(reply);
    expect(env.logs.events('client_message')).toContainEqual(expect.objectContaining({ from: 'cli', text: 'hi from mosquitto_pub' }));

    const status = spawnProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(env.broker.mqttPort), '-t', 'devices/pi/status', '-r', '-q', '1', '-m', 'online']);
    expect(await status.exited).toBe(0);
    expect(await inbox.waitFor((m) => m.topic === 'devices/pi/status')).toMatchObject({ text: 'online' });
  });

  it('mosquitto_pub with a bad contract payload is dropped, and a later good one arrives', async () => {
    const inbox = new Inbox(ws);
    await subscribe(ws, 'devices/+/mouse/#');
    const port = String(env.broker.mqttPort);
    expect(await spawnProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 'devices/cli/mouse/click', '-q', '1', '-m', '{"x":1}']).exited).toBe(0);
    const good = JSON.stringify({ x: 1, y: 2, button: 'right', pressed: false, ts: Date.now(), seq: 3 });
    expect(await spawnProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 'devices/cli/mouse/click', '-q', '1', '-m', good]).exited).toBe(0);
    await inbox.waitFor((m) => m.topic === 'devices/cli/mouse/click');
    expect(inbox.messages.filter((m) => m.topic === 'devices/cli/mouse/click').map((m) => m.text)).toEqual([good]);
  });
});

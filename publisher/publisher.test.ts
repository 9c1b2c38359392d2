import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../protocol/device-client';
import { startTestBroker } from '../test-support/broker';
import { ManualSource } from '../test-support/manual-source';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import type { PublisherEvent } from './output';
import { MousePublisher } from './publisher';

// MousePublisher in this process, driven by hand through ManualSource, against a real broker on free ports.
let env: Awaited<ReturnType<typeof startTestBroker>>;
let watcher: MqttClient;
let running: MousePublisher | undefined;

beforeAll(async () => {
  env = await startTestBroker();
  watcher = await connect(env.broker.mqttUrl);
});

afterEach(async () => {
  await running?.stop();
  running = undefined;
});

afterAll(async () => {
  watcher?.end(true);
  await env?.broker.close();
});

/** A publisher for `device` with a ManualSource, started and announced (its meta seen by the watcher). */
async function startPublisher(device: string, moveHz: number) {
  const inbox = new Inbox(watcher);
  await subscribe(watcher, `devices/${device}/#`, 1);
  const source = new ManualSource();
  const lines: string[] = [];
  /** What --log-format json would print, event by event. */
  const said: PublisherEvent[] = [];
  const url = env.broker.mqttUrl;
  const publisher: MousePublisher = new MousePublisher(connectDevice({ url, device, meta: () => publisher.meta() }), {
    url,
    source,
    moveHz,
    say: (line, event) => {
      lines.push(line);
      if (event) said.push(event);
    },
  });
  running = publisher;
  await publisher.start();
  await inbox.waitFor((m) => m.topic === `devices/${device}/meta`);
  await expect.poll(() => publisher.deviceClient.online).toBe(true);
  const events = () => inbox.messages.filter((m) => m.topic.startsWith(`devices/${device}/mouse/`));
  return { publisher, source, inbox, lines, said, events };
}

const at = (x: number, y: number) => ({ x, y, ts: Date.now() });

describe('MousePublisher with a hand-driven source', () => {
  it('takes the device id from its client and announces online and meta (retained, QoS 1)', async () => {
    const { publisher, inbox, lines } = await startPublisher('unit1', 0);
    expect(publisher.deviceId).toBe('unit1');
    const status = await inbox.waitFor((m) => m.topic === 'devices/unit1/status');
    const meta = await inbox.waitFor((m) => m.topic === 'devices/unit1/meta');
    expect(status).toMatchObject({ text: 'online', qos: 1 });
    expect(meta.qos).toBe(1);
    expect(JSON.parse(meta.text)).toMatchObject({ name: 'unit1', kind: 'mouse', source: 'manual', screen: { width: 800, height: 600 } });
    expect(lines).toContain(`Connected to ${env.broker.mqttUrl} as device "unit1" (source: manual)`);
  });

  it('numbers events with one seq across topics from 0, in the order they happened, with QoS 0 moves and QoS 1 clicks and scrolls', async () => {
    const { source, inbox, events } = await startPublisher('unit2', 0);
    source.emit({ type: 'move', ...at(1, 2) });
    source.emit({ type: 'button', ...at(1, 2), button: 'left', pressed: true });
    source.emit({ type: 'move', ...at(3, 4) });
    source.emit({ type: 'wheel', ...at(3, 4), dx: 0, dy: -1 });
    source.emit({ type: 'button', ...at(3, 4), button: 'left', pressed: false });
    await inbox.waitFor(() => events().length === 5);
    const bySeq = events()
      .map((m) => ({ kind: m.topic.split('/').pop(), qos: m.qos, ...JSON.parse(m.text) }))
      .sort((a, b) => a.seq - b.seq);
    expect(bySeq.map(({ kind, qos, seq, x, y }) => ({ kind, qos, seq, x, y }))).toEqual([
      { kind: 'move', qos: 0, seq: 0, x: 1, y: 2 },
      { kind: 'click', qos: 1, seq: 1, x: 1, y: 2 },
      { kind: 'move', qos: 0, seq: 2, x: 3, y: 4 },
      { kind: 'scroll', qos: 1, seq: 3, x: 3, y: 4 },
      { kind: 'click', qos: 1, seq: 4, x: 3, y: 4 },
    ]);
    expect(bySeq[3]).toMatchObject({ dx: 0, dy: -1 });
    expect(bySeq.map((e) => e.pressed)).toEqual([undefined, true, undefined, undefined, false]);
  });

  it('flushes the waiting move before a click, so the click follows the position it happened at', async () => {
    // 1 move a second: the second move waits for its slot; the click must not overtake it.
    const { source, inbox, events } = await startPublisher('unit3', 1);
    source.emit({ type: 'move', ...at(10, 10) });
    source.emit({ type: 'move', ...at(20, 20) });
    source.emit({ type: 'move', ...at(30, 30) }); // replaces (20, 20) while it waits
    source.emit({ type: 'button', ...at(30, 30), button: 'right', pressed: true });
    await inbox.waitFor(() => events().some((m) => m.topic.endsWith('/click')));
    await inbox.waitFor(() => events().length === 3);
    const sent = events().map((m) => ({ kind: m.topic.split('/').pop(), ...JSON.parse(m.text) }));
    expect(sent.map(({ kind, seq, x }) => ({ kind, seq, x }))).toEqual([
      { kind: 'move', seq: 0, x: 10 },
      { kind: 'move', seq: 1, x: 30 },
      { kind: 'click', seq: 2, x: 30 },
    ]);
  });

  it('reports a capture that stopped in meta, and clears it when capture runs again', async () => {
    const { source, inbox, lines } = await startPublisher('unit4', 0);
    const metas = () => inbox.messages.filter((m) => m.topic === 'devices/unit4/meta').map((m) => JSON.parse(m.text).capture);
    source.captureState(false, 'device went away; trying again in 1 s');
    await expect.poll(metas).toContainEqual({ running: false, problem: 'device went away; trying again in 1 s' });
    source.captureState(true, 'capture is running again');
    await expect.poll(() => metas().at(-1)).toEqual({ running: true, problem: null });
    expect(lines).toContain('device went away; trying again in 1 s');
  });

  it('publishes offline (retained) when stopped', async () => {
    const { publisher, inbox } = await startPublisher('unit5', 0);
    running = undefined;
    await publisher.stop();
    const offline = await inbox.waitFor((m) => m.topic === 'devices/unit5/status' && m.text === 'offline');
    expect(offline.qos).toBe(1);
  });

  it('says one line per click, at the press', async () => {
    const { source, lines, events } = await startPublisher('unit6', 0);
    source.emit({ type: 'button', ...at(10, 20), button: 'left', pressed: true });
    source.emit({ type: 'button', ...at(10, 20), button: 'left', pressed: false });
    await expect.poll(() => events().length).toBe(2);
    expect(lines.filter((l) => /Pressed|Released/.test(l))).toEqual(['Pressed left at (10, 20)']);
  });

  it('says each thing as an event too (what --log-format json prints): connected, click, capture, a client\'s message', async () => {
    const { source, said } = await startPublisher('unit8', 0);
    expect(said).toContainEqual({ event: 'connected', url: env.broker.mqttUrl, device: 'unit8', protocol: '5', source: 'manual' });
    expect(said).toContainEqual({ event: 'capturing', source: 'manual', screen: { width: 800, height: 600 } });
    source.emit({ type: 'button', ...at(10, 20), button: 'right', pressed: true });
    expect(said).toContainEqual({ event: 'click', button: 'right', x: 10, y: 20 });
    source.captureState(false, 'device went away');
    source.captureState(true, 'device is back');
    expect(said.slice(-2)).toEqual([
      { event: 'capture_stopped', source: 'manual', problem: 'device went away' },
      { event: 'capture_running', source: 'manual' },
    ]);
    await watcher.publishAsync('clients/viewer-9/messages', JSON.stringify({ text: 'hello', ts: Date.now() }), { qos: 1 });
    await expect.poll(() => said.find((e) => e.event === 'client_message')).toEqual({ event: 'client_message', from: 'viewer-9', text: 'hello' });
  });

  it("prints a client's message as text: terminal codes and hidden characters escaped, its event keeping the text", async () => {
    const { lines, said } = await startPublisher('unit9', 0);
    const text = 'hi\u001b[2J\u202egnp.exe\r\nFake line';
    await watcher.publishAsync('clients/viewer-8/messages', JSON.stringify({ text, ts: Date.now() }), { qos: 1 });
    await expect.poll(() => said.find((e) => e.event === 'client_message')).toEqual({ event: 'client_message', from: 'viewer-8', text });
    expect(lines).toContain('From client viewer-8: hi\\u001b[2J\\u202egnp.exe\\r\\nFake line');
  });

  it('counts a demo source\'s clicks in the move summary instead of a line each', async () => {
    const source = Object.assign(new ManualSource(), { kind: 'demo' }) as unknown as ManualSource;
    const lines: string[] = [];
    const url = env.broker.mqttUrl;
    const publisher: MousePublisher = new MousePublisher(connectDevice({ url, device: 'unit7', meta: () => publisher.meta() }), {
      url,
      source,
      moveHz: 0,
      summaryEveryMs: 100,
      say: (line) => lines.push(line),
    });
    running = publisher;
    await publisher.start();
    for (const pressed of [true, false, true, false]) source.emit({ type: 'button', ...at(5, 5), button: 'left', pressed });
    source.emit({ type: 'move', ...at(6, 6) });
    await expect.poll(() => lines.find((l) => l.startsWith('Moves:'))).toMatch(/; 2 demo clicks; pointer at \(6, 6\)$/);
    expect(lines.filter((l) => /Pressed|Released/.test(l))).toEqual([]);
  });
});

import { readFile } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRecording } from '../protocol/recording';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { connect, sleep } from '../test-support/mqtt';
import { spawnProcess, type Spawned } from '../test-support/processes';
import { requireTool } from '../test-support/tools';

// The viewer's record, open-recording and latency panel in a real Chromium against a real broker.
let test: TestBroker;
let browser: Browser;
let page: Page;
let publisher: MqttClient;
const pageErrors: string[] = [];
const decoder = new TextDecoder();

const latency = (id: string) => page.locator(`[data-testid="latency"][data-device="${id}"]`);

function move(device: string, seq: number, x: number, ts = Date.now()) {
  return publisher.publishAsync(`devices/${device}/mouse/move`, JSON.stringify({ x, y: 2 * x, ts, seq }), { qos: 0 });
}

beforeAll(async () => {
  requireTool('mosquitto_sub', 'mosquitto-clients');
  test = await startTestBroker();
  publisher = await connect(test.broker.mqttUrl);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(test.broker.httpUrl);
  await page.locator('[data-testid="connection-state"]', { hasText: /^connected$/ }).waitFor({ timeout: 10_000 });
}, 60_000);

afterAll(async () => {
  publisher?.end(true);
  await browser?.close();
  await test?.broker.close();
});

describe('viewer latency and loss', () => {
  it('shows capture-to-screen latency p50/p95/max and the events lost from seq gaps', async () => {
    for (const seq of [0, 1, 2, 3, 6, 7, 8, 9]) {
      await move('near', seq, 10 + seq);
      await sleep(20);
    }
    await expect.poll(() => latency('near').textContent()).toMatch(/lost 2/);
    const text = (await latency('near').textContent())!;
    const match = /p50 (-?\d+) ms · p95 (-?\d+) ms · max (-?\d+) ms/.exec(text);
    expect(match, text).not.toBeNull();
    const [p50, p95, max] = match!.slice(1).map(Number) as [number, number, number];
    // One machine, one clock: the figures are real latencies, small and ordered.
    expect(p50).toBeGreaterThanOrEqual(0);
    expect(p50).toBeLessThan(2000);
    expect(p95).toBeGreaterThanOrEqual(p50);
    expect(max).toBeGreaterThanOrEqual(p95);
    expect(text).not.toMatch(/clocks differ/);
  });

  it('says the clocks differ instead of showing negative latencies when ts is 5 s in the future', async () => {
    for (let seq = 0; seq < 5; seq++) await move('ahead', seq, seq, Date.now() + 5000);
    await expect.poll(() => latency('ahead').textContent()).toMatch(/clocks differ by about \d+ ms/);
    const text = (await latency('ahead').textContent())!;
    const offset = Number(/clocks differ by about (\d+) ms/.exec(text)![1]);
    expect(offset).toBeGreaterThan(4000);
    expect(offset).toBeLessThan(6000);
    expect(text).not.toMatch(/p50 -/);
  });
});

describe('viewer record and open recording', () => {
  let recordingPath = '';
  let sub: Spawned;

  it('records what the page receives for ~3 s and downloads what a parallel mosquitto_sub saw', async () => {
    await publisher.publishAsync('devices/rec/status', 'online', { qos: 1, retain: true });
    sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(test.broker.mqttPort), '-v', '-t', 'devices/rec/#', '-W', '60']);
    await sub.waitForOutput(/devices\/rec\/status online/, 10_000); // subscribed: it got the retained status
    await page.getByTestId('record').click();
    await expect.poll(() => page.getByTestId('record').textContent()).toMatch(/Stop/);

    // ~3 s of moves at 20 Hz, a click, and a free-form topic (bounded: 60 rounds).
    for (let seq = 0; seq < 60; seq++) {
      await move('rec', seq, 100 + seq);
      if (seq === 30) await publisher.publishAsync('devices/rec/mouse/click', JSON.stringify({ x: 130, y: 260, button: 'left', pressed: true, ts: Date.now(), seq: 1000 }), { qos: 1 });
      await sleep(50);
    }
    await publisher.publishAsync('devices/rec/note', 'the end', { qos: 1 });
    await sub.waitForOutput(/devices\/rec\/note the end/, 10_000);
    await expect.poll(() => page.locator('[data-topic="devices/rec/note"] [data-testid="payload"]').textContent()).toBe('the end');

    const download = page.waitForEvent('download');
    await page.getByTestId('record').click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/\.jsonl$/);
    recordingPath = (await file.path())!;
    await sub.stop('SIGTERM');

    const { header, messages } = parseRecording(await readFile(recordingPath, 'utf8'));
    expect(header.broker).toBe(test.broker.wsUrl);
    expect(header.filters).toContain('devices/#');
    const status = messages.find((m) => m.topic === 'devices/rec/status')!;
    expect(status).toMatchObject({ t: 0, retain: true });
    const recorded = messages.filter((m) => m.topic.startsWith('devices/rec/')).map((m) => `${m.topic} ${decoder.decode(m.payload)}`);
    const seen = sub.output().trim().split('\n');
    expect(recorded).toEqual(seen);
    expect(recorded.length).toBe(63); // status, 60 moves, a click, the note
  });

  it('opens that recording with no broker running and plays it through the pointer and the log', async () => {
    expect(recordingPath).not.toBe('');
    await test.broker.close();
    await expect.poll(() => page.getByTestId('connection-state').textContent()).toMatch(/^reconnecting/);
    await page.getByTestId('open-recording').setInputFiles(recordingPath);
    await expect.poll(() => page.getByTestId('playback').textContent()).toMatch(/63 messages/);
    await page.getByTestId('playback-speed').selectOption('4');
    await page.getByTestId('playback-play').click();
    await expect.poll(() => page.getByTestId('event-log').textContent(), { timeout: 15_000 }).toContain('rec left pressed at (130, 260)');
    await expect.poll(() => page.getByTestId('playback').textContent(), { timeout: 15_000 }).toMatch(/ended/);
    await expect.poll(() => page.getByTestId('pointer-view').getAttribute('aria-label')).toBe('Pointer view: rec at (159, 318)');
    await expect.poll(() => page.locator('[data-topic="devices/rec/note"] [data-testid="payload"]').textContent()).toBe('the end');
    // Latency as it was when recorded (the recorder's receive time minus ts).
    await expect.poll(() => latency('rec').textContent()).toMatch(/p50 \d+ ms/);
    // The scrubber back to the start: only the state at the start (the retained status) is left.
    await page.getByTestId('playback-scrubber').press('Home');
    await expect.poll(() => page.getByTestId('playback').textContent()).toMatch(/paused at 0\.0 s/);
    await expect.poll(() => page.locator('[data-topic="devices/rec/note"]').count()).toBe(0);
    expect(await page.locator('[data-testid="device"][data-device="rec"]').getAttribute('data-status')).toBe('online');
    // A file that is not a recording is refused with the line that is wrong; what plays stays.
    await page.getByTestId('open-recording').setInputFiles({ name: 'broken.jsonl', mimeType: 'text/plain', buffer: Buffer.from('{"mqlive":"recording","version":1,"startedAt":1,"broker":"b","filters":[]}\n{"t":1,"topic":"a"') });
    await expect.poll(() => page.getByTestId('open-error').textContent()).toMatch(/^broken\.jsonl is not a recording mqlive can play: line 2: not valid JSON/);
    expect(await page.getByTestId('playback').textContent()).toMatch(/63 messages/);
    expect(pageErrors).toEqual([]);
  });
});

import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR, type RunningBroker } from '../broker/broker';
import { startTestBroker } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { repeatUntil, ROOT, spawnProcess } from '../test-support/processes';
import { requireTool } from '../test-support/tools';
import { makeUsers } from '../test-support/security';
import { connect } from '../test-support/mqtt';

// The built viewer in a real Chromium, against a real broker, fed and read by Debian's mosquitto clients.
let broker: RunningBroker;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
const pageErrors: string[] = [];

async function startOn(mqttPort: number, httpPort: number) {
  return (await startTestBroker({ mqttPort, httpPort })).broker;
}

async function pub(topic: string, message: string, retain = false) {
  const args = ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-t', topic, '-q', '1', '-m', message];
  const p = spawnProcess('mosquitto_pub', retain ? [...args, '-r'] : args);
  expect(await p.exited, p.output()).toBe(0);
}

const device = (id: string) => page.locator(`[data-testid="device"][data-device="${id}"]`);

beforeAll(async () => {
  requireTool('mosquitto_pub', 'mosquitto-clients');
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  broker = await startOn(0, 0);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(broker.httpUrl);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await broker?.close();
});

describe('viewer in Chromium', () => {
  it('connects to the broker of its own origin and shows its viewer id', async () => {
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('connected');
    expect(await page.getByTestId('viewer-id').textContent()).toMatch(/^viewer-[0-9a-f]{8}-[0-9a-f]{6}$/);
  });

  it('shows a device online with its demo badge, and a click in the log and the pointer view', async () => {
    await pub('devices/laptop/status', 'online', true);
    const meta = { name: 'laptop', kind: 'mouse', source: 'demo', screen: { width: 1920, height: 1080 }, host: 'h', version: '0.1.0', schema: 1, startedAt: Date.now() };
    await pub('devices/laptop/meta', JSON.stringify(meta), true);
    await pub('devices/laptop/mouse/click', JSON.stringify({ x: 800, y: 879, button: 'left', pressed: true, ts: Date.now(), seq: 0 }));

    await expect.poll(() => device('laptop').getAttribute('data-status')).toBe('online');
    await expect.poll(() => device('laptop').textContent()).toMatch(/demo/i);
    await expect.poll(() => page.getByTestId('event-log').textContent()).toContain('laptop left pressed at (800, 879)');
    await expect.poll(() => page.getByTestId('pointer-view').getAttribute('aria-label')).toBe('Pointer view: laptop at (800, 879)');
    await expect.poll(() => page.getByTestId('last-click').textContent()).toBe('Last click: laptop: left pressed at (800, 879)');
  });

  it('shows a device replayed from a recording as a replay, not as live capture', async () => {
    const meta = { name: 'again', kind: 'mouse', source: 'replay', screen: null, host: 'h', version: '0.1.0', schema: 1, startedAt: Date.now() };
    await pub('devices/again/status', 'online', true);
    await pub('devices/again/meta', JSON.stringify(meta), true);
    await expect.poll(() => device('again').textContent()).toMatch(/replay/i);
    expect(await device('again').textContent()).not.toMatch(/live capture/i);
  });

  it('shows a device going offline', async () => {
    await pub('devices/laptop/status', 'offline', true);
    await expect.poll(() => device('laptop').getAttribute('data-status')).toBe('offline');
  });

  it('sends a typed reply that mosquitto_sub receives on clients/+/messages', async () => {
    const sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.mqttPort), '-t', 'clients/+/messages', '-v', '-C', '1', '-W', '15']);
    const viewerId = await page.getByTestId('viewer-id').textContent();
    // Its SUBSCRIBE cannot be seen going through: send until it has printed one message (-C 1).
    await repeatUntil(sub.hasEnded, async () => {
      await page.getByTestId('reply-input').fill('hello from the page');
      await page.getByTestId('reply-send').click();
    }, 30, 300);
    expect(await sub.exited).toBe(0);
    const [topic, payload] = sub.output().trim().split(/ (.*)/s);
    expect(topic).toBe(`clients/${viewerId}/messages`);
    expect(JSON.parse(payload!)).toMatchObject({ text: 'hello from the page' });
    await expect.poll(() => page.getByTestId('messages').textContent()).toContain(`${viewerId}: hello from the page`);
  });

  it('shows hostile payloads as literal text, never as HTML', async () => {
    const hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>';
    await pub('devices/pi/note', hostile);
    await pub('clients/mallory/messages', JSON.stringify({ text: hostile, ts: Date.now() }));
    await pub('devices/pi/blob', JSON.stringify({ deep: JSON.parse('['.repeat(200) + ']'.repeat(200)), html: hostile }));
    const raw = await connect(broker.mqttUrl);
    const huge = JSON.stringify({ rows: Array.from({ length: 2500 }, (_, i) => ({ i, html: hostile })) }); // ~200 KB
    await raw.publishAsync('devices/pi/huge', huge, { qos: 1 });
    await raw.publishAsync('devices/pi/raw', Buffer.from([0xff, 0x00, 0x3c, 0x62, 0x3e]), { qos: 1 });
    raw.end(true);
    // The tree renders only rows in view: the search keeps these in it.
    await page.getByLabel('Search topics').fill('devices/pi/');
    await expect.poll(() => page.locator('[data-topic="devices/pi/note"] [data-testid="payload"]').textContent()).toBe(hostile);
    await expect.poll(() => page.getByTestId('messages').textContent()).toContain(`mallory: ${hostile}`);
    await expect.poll(() => page.locator('[data-topic="devices/pi/blob"]').count()).toBe(1);
    await expect.poll(() => page.locator('[data-topic="devices/pi/raw"] [data-testid="payload"]').textContent()).toBe('5 bytes: ff 00 3c 62 3e');
    await expect.poll(() => page.locator('[data-topic="devices/pi/huge"] [data-testid="payload"]').textContent()).toMatch(/characters\)$/);
    // The page still answers: a message after the hostile ones shows up.
    await pub('devices/pi/after', 'still alive');
    await expect.poll(() => page.locator('[data-topic="devices/pi/after"] [data-testid="payload"]').textContent()).toBe('still alive');
    // And on the topic's page, decoded every way.
    await page.locator('[data-topic="devices/pi/note"]').getByRole('button', { name: 'note' }).click();
    for (const as of ['auto', 'json', 'text', 'hex', 'base64']) await page.getByLabel('Decode payload as').selectOption(as);
    await page.getByLabel('Decode payload as').selectOption('text');
    await expect.poll(() => page.getByTestId('payload-view').textContent()).toBe(hostile);
    await page.getByLabel('Search topics').fill('');
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('body script').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('reconnects by itself after a broker restart and resubscribes', async () => {
    const { mqttPort, httpPort } = broker;
    await broker.close();
    await expect.poll(() => page.getByTestId('connection-state').textContent()).toMatch(/^reconnecting/);
    await expect.poll(() => device('pi').getAttribute('data-status')).not.toBe('online'); // its state is unknown now
    await expect.poll(() => page.getByTestId('send-blocked').textContent()).toBe('Cannot send while reconnecting');
    broker = await startOn(mqttPort, httpPort);
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    await pub('devices/desk/status', 'online', true);
    await expect.poll(() => device('desk').getAttribute('data-status')).toBe('online');
  });

  it('saves a screenshot of the page', async () => {
    await mkdir(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results', 'viewer.png') });
    expect(pageErrors).toEqual([]);
  });
});

describe('viewer login', () => {
  it('asks for credentials when the broker wants them, keeps them out of the URL, and connects with them', async () => {
    const { data } = await makeUsers({ alice: 'viewer' });
    const { broker: guarded } = await startTestBroker({ users: data });
    const loginPage = await browser.newPage();
    try {
      await loginPage.goto(guarded.httpUrl);
      await expect.poll(() => loginPage.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('login needed');
      expect(await loginPage.getByTestId('send-blocked').textContent()).toBe('Cannot send until you log in');
      expect(await loginPage.getByTestId('login').textContent()).toContain(`will go to ${guarded.wsUrl}`);
      await loginPage.getByTestId('login-user').fill('alice');
      await loginPage.getByTestId('login-password').fill('wrong-password');
      await loginPage.getByTestId('login-submit').click();
      await expect.poll(() => loginPage.getByTestId('login').textContent()).toContain('Wrong user name or password.');
      await loginPage.getByTestId('login-user').fill('alice');
      await loginPage.getByTestId('login-password').fill('alice-password');
      await loginPage.getByTestId('login-submit').click();
      await expect.poll(() => loginPage.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('connected');
      expect(loginPage.url()).not.toContain('alice-password');
      expect(await loginPage.getByTestId('login').count()).toBe(0);
      // A viewer may not read everything: the refusal names the filter and says who refused it.
      await loginPage.getByLabel('Filter to subscribe to').fill('#');
      await loginPage.getByRole('button', { name: 'Subscribe' }).click();
      await expect.poll(() => loginPage.getByTestId('subscribe-error').textContent()).toMatch(/broker refused .*"#"/);
    } finally {
      await loginPage.close();
      await guarded.close();
    }
  });
});

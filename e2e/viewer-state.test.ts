import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, DEFAULT_VIEWER_DIR, type RunningBroker } from '../broker/broker';
import { launchChromium } from '../test-support/chromium';
import { startRefusingBroker } from '../test-support/fake-broker';
import { capturingLogger } from '../test-support/logs';
import { connect, Inbox } from '../test-support/mqtt';
import { freePort } from '../test-support/ports';

// What the viewer tells a person, in a real Chromium against a real broker: whom it sends a password to,
// what it does under a flood of topics and devices, tabs side by side, why it is not connected, device state.
let broker: RunningBroker;
let browser: Browser;
let mqtt: MqttClient;
const pages: Page[] = [];

async function open(query = '', context?: Awaited<ReturnType<Browser['newContext']>>): Promise<Page> {
  const page = await (context ?? browser).newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(10_000);
  pages.push(page);
  await page.goto(`${broker.httpUrl}${query}`);
  return page;
}

async function openConnected(): Promise<Page> {
  const page = await open();
  await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('connected');
  return page;
}

const publish = (topic: string, payload: string, retain = false) => mqtt.publishAsync(topic, payload, { qos: 1, retain });
const device = (page: Page, id: string) => page.locator(`[data-testid="device"][data-device="${id}"]`);
const meta = (name: string, screen: { width: number; height: number } | null) =>
  JSON.stringify({ name, kind: 'mouse', source: 'demo', screen, host: 'h', version: '0.1.0', schema: 1, startedAt: Date.now() });

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, httpPort: 0, log: capturingLogger().log });
  mqtt = await connect(broker.mqttUrl);
  browser = await launchChromium();
}, 60_000);

// Each test's pages go when it ends: a page left open would receive every later test's messages too.
afterEach(async () => {
  for (const page of pages.splice(0)) await page.close();
});

afterAll(async () => {
  mqtt?.end(true);
  await browser?.close();
  await broker?.close();
});

describe('login to a broker of another origin', () => {
  it('names the broker and sends no password there until the person says they trust it', async () => {
    const fake = await startRefusingBroker(5);
    try {
      const page = await open(`?broker=${fake.url}`);
      await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('login needed');
      expect(await page.getByTestId('login').textContent()).toContain(fake.url);
      await page.getByTestId('login-user').fill('alice');
      await page.getByTestId('login-password').fill('alice-secret-password');
      await page.getByTestId('login-submit').click();
      await expect.poll(() => page.getByTestId('login-refused').textContent()).toMatch(/not the page's own/);
      expect(fake.connects.length).toBeGreaterThan(0);
      expect(fake.connects.some((c) => c.password !== undefined || c.username !== undefined)).toBe(false);

      await page.getByTestId('login-trust').check();
      await page.getByTestId('login-password').fill('alice-secret-password');
      await page.getByTestId('login-submit').click();
      await expect.poll(() => fake.connects.some((c) => c.username === 'alice' && c.password === 'alice-secret-password')).toBe(true);
    } finally {
      await fake.close();
    }
  });
});

describe('limits under a flood', () => {
  it('charts at most 8 fields of a topic, however deeply nested', async () => {
    const page = await openConnected();
    const nested = JSON.stringify({ a: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`n${i}`, i])), b: { c: 1 } });
    for (let i = 0; i < 3; i++) await publish('devices/flood/nested', nested);
    const topic = page.locator('[data-topic="devices/flood/nested"]');
    await expect.poll(() => topic.textContent()).toContain('3 msg');
    await topic.getByRole('button', { name: 'nested' }).click();
    const fields = page.getByTestId('topic-page').getByRole('group', { name: /^Fields/ }).getByRole('checkbox'); // the field picker's, not "Fields on one chart"
    await expect.poll(() => fields.count()).toBe(8);
    await expect.poll(() => page.getByTestId('chart').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('chart').count()).toBeLessThanOrEqual(8);
  });

  it('renders only the topic rows scrolled into view, however many topics there are', async () => {
    const page = await openConnected();
    const topics = Array.from({ length: 300 }, (_, i) => `devices/many/t${String(i).padStart(3, '0')}`);
    await Promise.all(topics.map((t, i) => publish(t, String(i))));
    await expect.poll(() => page.getByTestId('topic-count').textContent()).toMatch(/^30\d seen/);
    const rows = page.getByTestId('topic-tree').locator('li');
    const row = (t: string) => page.locator(`[data-topic="${t}"]`);
    await expect.poll(() => row(topics[0]!).count()).toBe(1);
    expect(await rows.count()).toBeLessThan(60);
    expect(await row(topics.at(-1)!).count()).toBe(0);
    await page.getByTestId('topic-tree').locator('..').evaluate((scroller) => scroller.scrollTo(0, scroller.scrollHeight));
    await expect.poll(() => row(topics.at(-1)!).getByTestId('payload').textContent()).toBe('299');
    expect(await row(topics[0]!).count()).toBe(0);
    expect(await rows.count()).toBeLessThan(60);
  });

  it('clamps an absurd screen size from meta', async () => {
    const page = await openConnected();
    await publish('devices/tall/meta', meta('tall', { width: 1920, height: 2 ** 53 - 1 }), true);
    await device(page, 'tall').locator('button').first().click(); // the device itself (a stale one also has Remove)
    const canvas = page.getByTestId('pointer-view');
    await expect.poll(() => canvas.count()).toBe(1);
    const box = (await canvas.boundingBox())!;
    expect(box.height).toBeLessThanOrEqual(box.width * 2);
  });

  it('shows a live device although 210 retained fake devices came first, and keeps at most 200', async () => {
    // A broker of its own, so the 210 retained fakes stay out of the other tests.
    const flooded = await startBroker({ host: '127.0.0.1', mqttPort: 0, httpPort: 0, log: capturingLogger().log });
    const client = await connect(flooded.mqttUrl);
    try {
      for (let i = 0; i < 210; i++) await client.publishAsync(`devices/fake${String(i).padStart(3, '0')}/status`, 'online', { qos: 1, retain: true });
      const page = await browser.newPage();
      pages.push(page);
      await page.goto(flooded.httpUrl);
      await expect.poll(() => page.getByTestId('device').count(), { timeout: 10_000 }).toBe(200);
      await client.publishAsync('devices/realmouse/mouse/click', JSON.stringify({ x: 1, y: 2, button: 'left', pressed: true, ts: Date.now(), seq: 0 }), { qos: 1 });
      // Listed, though it sent no status (so it is not called online: issue 29).
      await expect.poll(() => device(page, 'realmouse').getAttribute('data-status')).toBe('unknown');
      expect(await page.getByTestId('device').count()).toBe(200);
    } finally {
      client.end(true);
      await flooded.close();
    }
  });
});

describe('two tabs of one browser', () => {
  it('stay connected side by side with their own client ids, a duplicated tab too, and their replies are told apart', async () => {
    const context = await browser.newContext();
    try {
      // Each tab's connection state is watched from the moment it is connected, before the next one opens: a tab
      // that knocks another off (by taking its client id) shows up as a change there.
      const watch = async (tab: Page) => {
        await expect.poll(() => tab.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('connected');
        await tab.evaluate(`
          window.__changes = [];
          const el = document.querySelector('[data-testid="connection-state"]');
          new MutationObserver(() => window.__changes.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
        `);
      };
      const tabs: Page[] = [];
      for (let i = 0; i < 2; i++) {
        tabs.push(await open('', context));
        await watch(tabs.at(-1)!);
      }
      // A third made the way "Duplicate tab" makes it: with a copy of the first one's sessionStorage.
      const copied = await tabs[0]!.evaluate(`JSON.stringify(Object.assign({}, sessionStorage))`);
      const duplicate = await context.newPage();
      pages.push(duplicate);
      await duplicate.addInitScript(`for (const [k, v] of Object.entries(${copied})) sessionStorage.setItem(k, v);`);
      await duplicate.goto(broker.httpUrl);
      tabs.push(duplicate);
      await watch(duplicate);
      const ids = await Promise.all(tabs.map((t) => t.getByTestId('viewer-id').textContent()));
      expect(new Set(ids).size).toBe(3);

      const listener = await connect(broker.mqttUrl);
      const inbox = new Inbox(listener);
      try {
        await listener.subscribeAsync('clients/+/messages', { qos: 1 });
        for (const [i, tab] of tabs.entries()) {
          await tab.getByTestId('reply-input').fill(`from tab ${i}`);
          await tab.getByTestId('reply-send').click();
        }
        for (const [i, id] of ids.entries()) {
          await inbox.waitFor((m) => m.topic === `clients/${id}/messages` && m.text.includes(`from tab ${i}`));
          for (const tab of tabs) await expect.poll(() => tab.getByTestId('messages').textContent()).toContain(`${id}: from tab ${i}`);
        }
        // The barrier: every tab got every reply, all sent after the last tab connected. A tab knocked off by a
        // later one lost its connection before those were sent: it shows them only after reconnecting, which its
        // watcher has seen.
        for (const tab of tabs) {
          expect(await tab.evaluate('window.__changes')).toEqual([]);
          expect(await tab.getByTestId('connection-state').textContent()).toBe('connected');
        }
      } finally {
        listener.end(true);
      }
    } finally {
      await context.close();
    }
  }, 60_000);
});

describe('why it is not connected', () => {
  it('refuses a ?broker= that is not a WebSocket address, instead of using its own origin', async () => {
    for (const bad of ['not-a-url', `http://127.0.0.1:${broker.httpPort}/mqtt`]) {
      const page = await open(`?broker=${encodeURIComponent(bad)}`);
      await expect.poll(() => page.getByTestId('connection-error').textContent()).toContain('?broker=');
      expect(await page.getByTestId('connection-error').textContent()).toContain('ws://');
      expect(await page.getByTestId('connection-state').textContent()).not.toBe('connected');
    }
  });

  it('says why it keeps reconnecting to a broker that is not there, and does not blame missing devices', async () => {
    const port = await freePort();
    const page = await open(`?broker=ws://127.0.0.1:${port}/mqtt`);
    await expect.poll(() => page.getByTestId('connection-error').textContent(), { timeout: 10_000 }).toContain(`ws://127.0.0.1:${port}/mqtt`);
    expect(await page.getByTestId('connection-state').textContent()).toMatch(/^reconnecting/);
    const empty = await page.getByTestId('no-devices').textContent();
    expect(empty).not.toContain('make up');
    expect(empty).toMatch(/not connected/i);
  });
});

describe('the connection worker', () => {
  it('holds the MQTT connection off the page, and the page says plainly that the broker cannot be reached', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}/mqtt`;
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    pages.push(page);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Counts WebSockets the page's main thread opens (init scripts do not run in workers): MQTT must not be one.
    await page.addInitScript(`
      window.__pageSockets = 0;
      const PageSocket = WebSocket;
      window.WebSocket = class extends PageSocket { constructor(...a) { super(...a); window.__pageSockets += 1; } };
    `);
    await page.goto(`${broker.httpUrl}?broker=${encodeURIComponent(url)}`);
    await expect.poll(() => page.workers().map((w) => w.url()), { timeout: 10_000 }).toEqual([expect.stringMatching(/live\.worker/)]);
    await expect.poll(() => page.getByTestId('connection-error').textContent(), { timeout: 10_000 }).toBe(
      `cannot reach a broker at ${url}: nothing answers there, or it is not MQTT over WebSocket`,
    );
    expect(await page.getByTestId('connection-state').textContent()).toMatch(/^reconnecting/);
    expect(await page.getByTestId('send-blocked').textContent()).toBe('Cannot send while reconnecting');
    expect(await page.getByRole('button', { name: 'Subscribe' }).isDisabled()).toBe(true);
    expect(await page.evaluate('window.__pageSockets')).toBe(0);
    // The page still answers the person meanwhile.
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Resume' }).count()).toBe(1);
    expect(errors).toEqual([]);
  });
});

describe('device state that does not mislead', () => {
  it('shows the id beside the name, no "seen just now" for a retained offline device, and no grid without a screen', async () => {
    await publish('devices/gone/status', 'offline', true);
    await publish('devices/gone/meta', meta('vm system', { width: 800, height: 600 }), true);
    await publish('devices/sensor/meta', meta('vm system', null), true);
    const page = await openConnected();
    await expect.poll(() => device(page, 'gone').textContent()).toContain('vm system');
    const gone = await device(page, 'gone').textContent();
    expect(gone).toContain('gone');
    expect(gone).toContain('offline');
    expect(gone).not.toMatch(/seen (just now|\d+ s ago)/);
    await expect.poll(() => device(page, 'sensor').textContent()).toContain('sensor');
    await device(page, 'sensor').locator('button').first().click();
    await expect.poll(() => page.getByTestId('no-screen').textContent()).toContain('sensor');
    expect(await page.getByTestId('pointer-view').count()).toBe(0);
  });

  it('keeps 500 log rows, shows other topics, and folds moves so clicks stay visible', async () => {
    const page = await openConnected();
    const log = page.getByTestId('event-log').locator('li');
    const event = (seq: number, extra: object = {}) => JSON.stringify({ x: seq, y: seq, ts: Date.now(), seq, ...extra });
    let seq = 0;
    for (let i = 0; i < 600; i++) await publish('devices/clicker/mouse/click', event(seq++, { button: 'left', pressed: i % 2 === 0 }));
    await expect.poll(() => log.first().textContent(), { timeout: 10_000 }).toContain('(599, 599)');
    expect(await page.getByTestId('event-log').getAttribute('data-rows')).toBe('500');
    // Only the rows in view (and a few around) are in the page.
    expect(await log.count()).toBeLessThan(40);
    await page.getByRole('button', { name: 'Clear' }).click();
    for (let i = 0; i < 30; i++) await mqtt.publishAsync('devices/clicker/mouse/move', event(seq++));
    await publish('devices/clicker/mouse/click', event(seq++, { button: 'right', pressed: true }));
    for (let i = 0; i < 30; i++) await mqtt.publishAsync('devices/clicker/mouse/move', event(seq++));
    await publish('devices/clicker/temperature', '21.5');
    await expect.poll(() => page.getByTestId('event-log').textContent()).toContain('temperature: 21.5');
    const rows = await log.allTextContents();
    expect(rows).toHaveLength(4);
    expect(rows.some((r) => r.includes('right pressed'))).toBe(true);
    expect(rows.filter((r) => /move/.test(r)).every((r) => /×30/.test(r))).toBe(true);
  });

  it('shows no device as online while the page itself is disconnected', async () => {
    const page = await openConnected();
    await publish('devices/alive/status', 'online', true);
    await expect.poll(() => device(page, 'alive').getAttribute('data-status')).toBe('online');
    await page.context().setOffline(true);
    await expect.poll(() => page.getByTestId('connection-state').textContent()).not.toBe('connected');
    await expect.poll(() => device(page, 'alive').getAttribute('data-status')).not.toBe('online');
    await page.context().setOffline(false);
    await expect.poll(() => device(page, 'alive').getAttribute('data-status'), { timeout: 15_000 }).toBe('online');
  });
});

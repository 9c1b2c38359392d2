import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { ROOT } from '../test-support/processes';

// The viewer as an MQTT browser, in a real Chromium against a real broker: the topic tree (branches, counts,
// search), a topic's page (history, decoding, diff, copy, charts), and the layout from a phone to a desktop.
let env: TestBroker;
let mqtt: MqttClient;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function open(viewport = { width: 1400, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(env.broker.httpUrl);
  await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('connected');
  return page;
}

const publish = (topic: string, payload: string, options: { qos?: 0 | 1; retain?: boolean } = {}) =>
  mqtt.publishAsync(topic, payload, { qos: options.qos ?? 1, retain: options.retain ?? false });
const row = (page: Page, path: string) => page.locator(`[data-testid="topic-tree"] li[data-path="${path}"]`);
const shownPaths = (page: Page) => page.locator('[data-testid="topic-tree"] li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-path')));

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  env = await startTestBroker();
  mqtt = await env.connect('tcp');
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
});

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('the topic tree', () => {
  it('sums counts per branch, opens and closes branches, and renders only the rows of open ones', async () => {
    const page = await open();
    for (let i = 0; i < 3; i++) await publish('devices/lab/kitchen/temp', String(20 + i));
    for (let i = 0; i < 2; i++) await publish('devices/lab/hall/temp', String(18 + i));
    await publish('devices/lab/hall/light', 'on');
    await expect.poll(() => row(page, 'devices/lab').getByTestId('figures').textContent()).toMatch(/^6 msg · [\d.]+\/s · 3 topics$/);
    // Deeper than two levels a branch starts closed: its topics are not in the page at all.
    expect(await row(page, 'devices/lab/kitchen').getAttribute('data-open')).toBe('false');
    expect(await row(page, 'devices/lab/kitchen').getByTestId('figures').textContent()).toMatch(/^3 msg .* 1 topic$/); // one topic, not "1 topics" (issue 29, item 14)
    expect(await row(page, 'devices/lab/kitchen/temp').count()).toBe(0);
    await page.getByRole('button', { name: 'Open devices/lab/kitchen' }).click();
    await expect.poll(() => row(page, 'devices/lab/kitchen/temp').getByTestId('payload').textContent()).toBe('22');
    expect(await row(page, 'devices/lab/kitchen/temp').getByTestId('figures').textContent()).toMatch(/^3 msg/);
    await page.getByRole('button', { name: 'Close devices/lab', exact: true }).click();
    await expect.poll(() => row(page, 'devices/lab/kitchen').count()).toBe(0);
    expect(await row(page, 'devices/lab').getAttribute('data-open')).toBe('false');
    await page.getByRole('button', { name: 'Open devices/lab', exact: true }).click();
    // It remembers that kitchen was opened by hand.
    await expect.poll(() => row(page, 'devices/lab/kitchen/temp').count()).toBe(1);

    // The arrow keys: left closes, right opens, down and up move between rows.
    const focusedRow = () => page.evaluate(`document.activeElement?.closest('li')?.dataset.path`);
    await row(page, 'devices/lab').getByRole('button', { name: 'lab', exact: true }).focus();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => row(page, 'devices/lab').getAttribute('data-open')).toBe('false');
    await page.keyboard.press('ArrowRight');
    await expect.poll(() => row(page, 'devices/lab').getAttribute('data-open')).toBe('true');
    await page.keyboard.press('ArrowDown');
    await expect.poll(focusedRow).toBe('devices/lab/hall');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    await expect.poll(focusedRow).toBe('devices/lab');
  });

  it('narrows the tree by a part of a topic, or by an MQTT filter with + and #', async () => {
    const page = await open();
    await publish('devices/find/kitchen/temp', '21');
    await publish('devices/find/hall/temp', '19');
    await publish('devices/find/hall/Light', 'on');
    await expect.poll(() => row(page, 'devices/find/hall').count()).toBe(1);
    const search = page.getByLabel('Search topics');
    await search.fill('light');
    await expect.poll(() => shownPaths(page)).toEqual(['devices', 'devices/find', 'devices/find/hall', 'devices/find/hall/Light']);
    await search.fill('devices/find/+/temp');
    await expect.poll(() => shownPaths(page)).toEqual(['devices', 'devices/find', 'devices/find/hall', 'devices/find/hall/temp', 'devices/find/kitchen', 'devices/find/kitchen/temp']);
    await search.fill('devices/find/hall/#');
    await expect.poll(() => shownPaths(page)).toEqual(['devices', 'devices/find', 'devices/find/hall', 'devices/find/hall/Light', 'devices/find/hall/temp']);
    await search.fill('no such topic');
    await expect.poll(() => shownPaths(page)).toEqual([]);
    expect(await page.getByTestId('topic-tree').locator('..').textContent()).toContain('No topic matches the search.');
    await search.fill('');
    await expect.poll(() => shownPaths(page)).toContain('devices/find/hall');
    expect(await shownPaths(page)).not.toContain('devices/find/hall/temp');
  });
});

describe("a topic's page", () => {
  const first = { temp: 21.5, hum: 40, ts: 1000, seq: 1 };
  const second = { temp: 22, hum: 40, ts: 2000, seq: 2, door: 'open' };
  const third = { temp: 21.8, hum: 41, ts: 3000, seq: 3 };

  it('shows the last messages with time, QoS, retain flag and size, the payload decoded as asked, and what changed', async () => {
    await publish('devices/page/sensor', JSON.stringify(first), { retain: true });
    const page = await open();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await page.getByLabel('Search topics').fill('devices/page/sensor');
    await row(page, 'devices/page/sensor').getByRole('button', { name: 'sensor' }).click();
    await expect.poll(() => page.getByTestId('topic-path').textContent()).toBe('devices/page/sensor');
    await expect.poll(() => page.getByTestId('history').locator('li').count()).toBe(1);
    await publish('devices/page/sensor', JSON.stringify(second), { qos: 0 });
    await publish('devices/page/sensor', JSON.stringify(third), { qos: 1 });
    const history = page.getByTestId('history').locator('li');
    await expect.poll(() => history.count()).toBe(3);
    const rows = await history.allTextContents();
    expect(rows[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s*QoS 1\\s*live\\s*${JSON.stringify(third).length} B$`));
    expect(rows[1]).toMatch(new RegExp(`QoS 0\\s*live\\s*${JSON.stringify(second).length} B$`));
    expect(rows[2]).toMatch(new RegExp(`QoS 1\\s*retained\\s*${JSON.stringify(first).length} B$`));

    // The newest, pretty-printed, and what changed since the one before.
    const view = page.getByTestId('payload-view');
    await expect.poll(() => view.textContent()).toBe(JSON.stringify(third, null, 2));
    const diff = page.getByTestId('diff');
    await expect.poll(() => diff.locator('li').allTextContents()).toEqual(['temp 22 → 21.8', 'hum 40 → 41', 'ts 2000 → 3000', 'seq 2 → 3', 'door removed (was "open")']);
    // An older message, against the one before it.
    await history.nth(1).getByRole('button').click();
    await expect.poll(() => view.textContent()).toBe(JSON.stringify(second, null, 2));
    await expect.poll(() => diff.locator('li').allTextContents()).toEqual(['temp 21.5 → 22', 'ts 1000 → 2000', 'seq 1 → 2', 'door added "open"']);

    const decode = page.getByLabel('Decode payload as');
    await decode.selectOption('hex');
    await expect.poll(() => view.textContent()).toMatch(/^0000 {2}7b 22 74 65 6d 70 22 3a/);
    await decode.selectOption('base64');
    await expect.poll(() => view.textContent()).toBe(Buffer.from(JSON.stringify(second)).toString('base64'));
    await decode.selectOption('text');
    await expect.poll(() => view.textContent()).toBe(JSON.stringify(second));
    await page.getByRole('button', { name: 'Copy', exact: true }).click();
    await expect.poll(() => page.evaluate('navigator.clipboard.readText()')).toBe(JSON.stringify(second));

    // Back to the newest, which follows new messages again.
    await page.getByRole('button', { name: 'Follow newest' }).click();
    await decode.selectOption('auto');
    await publish('devices/page/sensor', '<b>not json</b>');
    await expect.poll(() => view.textContent()).toBe('<b>not json</b>');
    expect(await page.getByTestId('diff').count()).toBe(0);
    await decode.selectOption('json');
    await expect.poll(() => page.getByTestId('decode-error').textContent()).toMatch(/^not JSON: /);
    expect(await page.locator('b').count()).toBe(0);
  });

  it('keeps the last 100 messages of a topic, also from before it was opened, listing the newest 20 until asked for all', async () => {
    const page = await open();
    await page.getByLabel('Search topics').fill('devices/many/count');
    await Promise.all(Array.from({ length: 130 }, (_, i) => publish('devices/many/count', String(i))));
    await expect.poll(() => row(page, 'devices/many/count').textContent()).toMatch(/130 msg/);
    await row(page, 'devices/many/count').getByRole('button', { name: 'count' }).click();
    await expect.poll(() => page.getByTestId('shown-message').textContent()).toBeTruthy();
    await expect.poll(() => page.getByTestId('topic-page').locator('h3').allTextContents()).toContain('Last 100 messages (newest first, at most 100; up to 16 KiB of them from before you opened the topic)');
    const listed = page.getByTestId('history').locator('li');
    expect(await listed.count()).toBe(20);
    await page.getByRole('button', { name: 'Show all 100' }).click();
    await expect.poll(() => listed.count()).toBe(100);
  });

  it('charts numeric fields with labelled axes, min and max, leaving ts and seq off until chosen', async () => {
    const page = await open();
    await page.getByLabel('Search topics').fill('devices/chart/sensor');
    await publish('devices/chart/sensor', JSON.stringify(first));
    await row(page, 'devices/chart/sensor').getByRole('button', { name: 'sensor' }).click();
    await publish('devices/chart/sensor', JSON.stringify(second));
    await publish('devices/chart/sensor', JSON.stringify(third));
    const chart = (field: string) => page.locator(`[data-testid="chart"][data-field="${field}"]`);
    await expect.poll(() => chart('temp').locator('figcaption').textContent()).toMatch(/min 21\.5 · max 22 · last 21\.8 · 3 points/);
    expect(await chart('hum').count()).toBe(1);
    // Ticks with numbers on the value axis, and seconds on the time axis.
    const ticks = await chart('temp').locator('text').allTextContents();
    expect(ticks.filter((t) => /^\d+(\.\d+)?$/.test(t)).length).toBeGreaterThanOrEqual(2);
    expect(ticks.some((t) => /^-?[\d.]+ s$/.test(t))).toBe(true);
    expect(await chart('ts').count()).toBe(0);
    expect(await chart('seq').count()).toBe(0);
    expect(await page.getByRole('checkbox', { name: 'ts' }).isChecked()).toBe(false);
    expect(await page.getByRole('checkbox', { name: 'temp' }).isChecked()).toBe(true);
    await page.getByRole('checkbox', { name: 'seq' }).check();
    await expect.poll(() => chart('seq').count()).toBe(1);
    await page.getByRole('checkbox', { name: 'hum' }).uncheck();
    await expect.poll(() => chart('hum').count()).toBe(0);
  });
});

/** Elements that reach past the viewport's sides and are not clipped by a box of theirs that stays inside. */
const OVERFLOWING = `(() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if ((r.width === 0 && r.height === 0) || (r.right <= width + 0.5 && r.left >= -0.5)) continue;
    let clipped = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const ar = a.getBoundingClientRect();
      if (getComputedStyle(a).overflowX !== 'visible' && ar.right <= width + 0.5 && ar.left >= -0.5) { clipped = true; break; }
    }
    if (!clipped) out.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  if (document.documentElement.scrollWidth > width) out.push('page scrolls sideways: ' + document.documentElement.scrollWidth);
  return out;
})()`;

describe('layout', () => {
  async function withTraffic(page: Page): Promise<void> {
    await publish('devices/phone/status', 'online', { retain: true });
    await publish('devices/phone/meta', JSON.stringify({ name: 'a mouse with a rather long name', kind: 'mouse', source: 'demo', screen: { width: 1920, height: 1080 }, host: 'h', version: '0.1.0', schema: 1, startedAt: Date.now() }), { retain: true });
    for (let i = 0; i < 5; i++) {
      await publish('devices/phone/mouse/click', JSON.stringify({ x: 100 * i, y: 50 * i, button: 'left', pressed: i % 2 === 0, ts: Date.now(), seq: i }));
      await publish('devices/phone/sensors/environment-with-a-long-name/temperature', JSON.stringify({ celsius: 20 + i, note: 'x'.repeat(300), ts: Date.now() }));
    }
    await expect.poll(() => page.getByTestId('topic-count').textContent()).toMatch(/[1-9]\d* seen/);
  }

  it('is one column with sections at 390 px, a header of two lines at most, nothing wider than the screen', async () => {
    await mkdir(join(ROOT, 'test-results'), { recursive: true });
    const page = await open({ width: 390, height: 844 });
    await withTraffic(page);
    // The broker's address on the first line, who you are whole on the second (issue 29, item 14: it was cut).
    const header = (await page.locator('header').first().boundingBox())!;
    expect(header.height).toBeLessThan(80);
    for (const section of ['Live', 'Topics', 'Messages']) {
      await page.getByRole('tab', { name: section }).click();
      expect(await page.getByRole('tab', { name: section }).getAttribute('aria-selected')).toBe('true');
      if (section === 'Topics') {
        await page.getByLabel('Search topics').fill('temperature');
        await row(page, 'devices/phone/sensors/environment-with-a-long-name/temperature').getByRole('button', { name: 'temperature' }).click();
        await expect.poll(() => page.getByTestId('payload-view').count()).toBe(1);
        await page.screenshot({ path: join(ROOT, 'test-results', 'viewer-390x844.png') });
      }
      expect(await page.evaluate(OVERFLOWING), section).toEqual([]);
    }
    // One section at a time: the topic tree is not laid out while the live section is shown.
    await page.getByRole('tab', { name: 'Live' }).click();
    expect(await page.getByLabel('Search topics').isVisible()).toBe(false);
    expect(await page.getByTestId('event-log').isVisible()).toBe(true);
  });

  it('shows every panel side by side at 1400 px', async () => {
    const page = await open();
    await withTraffic(page);
    // No phone sections here: two views, every panel (Overview, the first) or the Topics view (viewer-topic-work.test.ts).
    expect(await page.getByRole('tablist', { name: 'Sections' }).count()).toBe(0);
    expect(await page.getByRole('tablist', { name: 'Views' }).getByRole('tab').allTextContents()).toEqual(['Overview', 'Topics']);
    expect(await page.getByTestId('view-overview').getAttribute('aria-selected')).toBe('true');
    for (const id of ['event-log', 'topic-tree', 'topic-page', 'reply-input', 'pointer-view']) expect(await page.getByTestId(id).isVisible(), id).toBe(true);
    await page.getByLabel('Search topics').fill('temperature');
    await row(page, 'devices/phone/sensors/environment-with-a-long-name/temperature').getByRole('button', { name: 'temperature' }).click();
    await expect.poll(() => page.getByTestId('chart').count()).toBeGreaterThan(0);
    expect(await page.evaluate(OVERFLOWING)).toEqual([]);
    await page.screenshot({ path: join(ROOT, 'test-results', 'viewer-1400x900.png') });

    // The keyboard alone reaches the search and a topic, and shows where it is.
    await page.getByLabel('Search topics').fill('');
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    const focused = () => page.evaluate(`document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent`);
    for (let i = 0; i < 80 && (await focused()) !== 'Search topics'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('Search topics');
    expect(await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle`)).not.toBe('none');
    await page.keyboard.type('status');
    for (let i = 0; i < 10 && (await focused()) !== 'status'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('topic-path').textContent()).toBe('devices/phone/status');
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { launchChromium } from '../test-support/chromium';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { makeUsers } from '../test-support/security';
import { brokerReady, spawnMqlive } from '../test-support/processes';
import { Teardown, teardownAfterEach } from '../test-support/teardown';

// Issue 29, items 12 and 13: topic work as an MQTT Explorer user does it, in a real Chromium at the issue's
// 1400×900 against the compiled broker: the Topics view (tree and topic page as tall as the window, the selected
// row kept in view), Copy topic, $SYS/# offered, Publish again and templates, the light theme, chart values on hover,
// several saved connections with a quick switch.
let mqttUrl: string;
let httpUrl: string;
let mqtt: MqttClient;
let browser: Browser;
const forTheFile = new Teardown();
const forTheTest = teardownAfterEach();
const VIEWPORT = { width: 1400, height: 900 };

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  const broker = forTheFile.add(spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--data-dir', 'none', '--log-format', 'json']), (b) => b.stop());
  const ready = await brokerReady(broker);
  mqttUrl = ready.mqtt;
  httpUrl = ready.http;
  mqtt = forTheFile.add(await connect(mqttUrl), (c) => c.endAsync());
  browser = forTheFile.add(await launchChromium(), (b) => b.close());
}, 60_000);

afterAll(() => forTheFile.run());

async function open(options: BrowserContextOptions = {}): Promise<Page> {
  const context = forTheTest.add(await browser.newContext({ viewport: VIEWPORT, ...options }), (c) => c.close());
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(httpUrl);
  await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
  return page;
}

const row = (page: Page, path: string) => page.locator(`[data-testid="topic-tree"] li[data-path="${path}"]`);
const topicsSeen = async (page: Page) => Number((await page.getByTestId('topic-count').textContent())?.match(/^(\d+) seen/)?.[1] ?? 0);

/** Selects a topic through the search box (so its row is in view whatever the tree holds), then clears the search. */
async function selectTopic(page: Page, topic: string): Promise<void> {
  await page.getByLabel('Search topics').fill(topic);
  await row(page, topic).getByRole('button', { name: topic.split('/').at(-1), exact: true }).click();
  await expect.poll(() => page.getByTestId('topic-path').textContent()).toBe(topic);
}

/** The paths of the tree's rows wholly inside its scroll area, and whether the selected one is among them. */
function rowsInView(page: Page): Promise<{ paths: string[]; selected: string | null; selectedInView: boolean }> {
  return page.getByTestId('topic-tree').evaluate((tree) => {
    const view = tree.parentElement!.getBoundingClientRect();
    const inView = (li: Element) => {
      const r = li.getBoundingClientRect();
      return r.top >= view.top - 0.5 && r.bottom <= view.bottom + 0.5;
    };
    const lis = [...tree.querySelectorAll('li')];
    const selected = lis.find((li) => li.classList.contains('selected'));
    return { paths: lis.filter(inView).map((li) => li.dataset.path!), selected: selected?.dataset.path ?? null, selectedInView: selected ? inView(selected) : false };
  });
}

describe('the Topics view (item 12)', () => {
  it('gives the tree and the topic page the window, and keeps the selected row in view as topics come above it', async () => {
    for (let i = 0; i < 60; i++) await mqtt.publishAsync(`devices/work/t${String(i).padStart(2, '0')}`, JSON.stringify({ v: i }), { qos: 1, retain: true });
    const page = await open();
    await expect.poll(() => topicsSeen(page)).toBeGreaterThanOrEqual(60);
    await page.getByTestId('view-topics').click();

    // The pointer view and the log wait in Overview; the page itself does not scroll.
    await expect.poll(() => page.locator('canvas').first().isVisible()).toBe(false);
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1)).toBe(true);
    // At 1400×900 the tree shows a long list (the overview's shows about 12 rows) and the page is nearly as tall as the window.
    const shown = (await rowsInView(page)).paths;
    expect(shown.length, shown.join()).toBeGreaterThanOrEqual(25);
    const pageBox = (await page.getByTestId('topic-page').boundingBox())!;
    expect(pageBox.height).toBeGreaterThan(0.75 * VIEWPORT.height);

    // Select the last row wholly in view, then 20 topics arrive that sort above it.
    const last = shown.at(-1)!;
    expect(last).toMatch(/^devices\/work\/t\d\d$/);
    await row(page, last).locator('button.name').click();
    await expect.poll(() => page.getByTestId('topic-path').textContent()).toBe(last);
    expect((await rowsInView(page)).selectedInView).toBe(true);
    for (let i = 0; i < 20; i++) await mqtt.publishAsync(`devices/work/a${String(i).padStart(2, '0')}`, '1', { qos: 1 });
    await expect.poll(() => topicsSeen(page)).toBeGreaterThanOrEqual(80);
    await expect.poll(() => row(page, 'devices/work/a19').count()).toBe(1);
    expect(await rowsInView(page)).toMatchObject({ selected: last, selectedInView: true });
    // The choice holds after a reload.
    await page.reload();
    await expect.poll(() => page.getByTestId('view-topics').getAttribute('aria-selected')).toBe('true');
  });
});

describe('topic work beside MQTT Explorer and MQTTX (item 13)', () => {
  it('copies the selected topic to the clipboard', async () => {
    await mqtt.publishAsync('devices/copy/room 1/temp', '21', { qos: 1, retain: true });
    const page = await open();
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
    await selectTopic(page, 'devices/copy/room 1/temp');
    await page.getByTestId('copy-topic').click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe('devices/copy/room 1/temp');
  });

  it('offers $SYS/#, and once chosen the broker\'s $SYS topics appear in the tree', async () => {
    const page = await open();
    await page.getByTestId('subscribe-sys').click();
    await expect.poll(() => page.locator('[data-testid="subscription"][data-filter="$SYS/#"]').count()).toBe(1);
    // A client connecting makes the broker publish $SYS/{id}/new/clients.
    forTheTest.add(await connect(mqttUrl), (c) => c.endAsync());
    await expect.poll(() => row(page, '$SYS').count()).toBe(1);
  });

  it('publishes a message of the list again, as it was sent, and keeps the form as a template across a reload', async () => {
    const subscriber = forTheTest.add(await connect(mqttUrl, { protocolVersion: 5 }), (c) => c.endAsync());
    const inbox = new Inbox(subscriber);
    await subscribe(subscriber, 'lab/again/#');
    const page = await open();
    await page.getByTestId('publish-topic').fill('lab/again/lamp');
    await page.getByTestId('publish-payload').fill('{"on": true}');
    await page.getByText('MQTT 5 properties').click();
    await page.getByTestId('user-property-name').fill('source');
    await page.getByTestId('user-property-value').fill('page');
    await page.getByTestId('publish-send').click();
    const first = await inbox.waitFor((m) => m.topic === 'lab/again/lamp');
    expect(first).toMatchObject({ text: '{"on": true}', qos: 1, retain: false });
    expect(first.properties?.userProperties).toEqual({ source: 'page' });

    // Change the form: Publish again sends the listed message, not what the form now holds.
    await page.getByTestId('publish-payload').fill('something else');
    await page.getByTestId('publish-again').first().click();
    const both = await inbox.waitForCount('lab/again/lamp', 2);
    expect(both[1]).toMatchObject({ text: '{"on": true}', qos: 1, retain: false });
    expect(both[1]!.properties?.userProperties).toEqual({ source: 'page' });
    await expect.poll(() => page.getByTestId('publish-history').locator('li').count()).toBe(2);

    // Save the form as a template; after a reload it fills the form again, and Publish sends it.
    await page.getByTestId('publish-payload').fill('{"on": false}');
    await page.getByTestId('publish-retain').check();
    await page.getByText(/^Templates/).click();
    await page.getByTestId('template-name').fill('lamp off');
    await page.getByTestId('template-save').click();
    await page.reload();
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    await page.getByText(/^Templates/).click();
    await page.getByRole('button', { name: 'Use template lamp off' }).click();
    expect(await page.getByTestId('publish-topic').inputValue()).toBe('lab/again/lamp');
    expect(await page.getByTestId('publish-payload').inputValue()).toBe('{"on": false}');
    expect(await page.getByTestId('publish-retain').isChecked()).toBe(true);
    await page.getByTestId('publish-send').click();
    const third = (await inbox.waitForCount('lab/again/lamp', 3))[2]!;
    expect(third).toMatchObject({ text: '{"on": false}', qos: 1, retain: false }); // a live subscriber: retain as published is not asked
    await mqtt.publishAsync('lab/again/lamp', '', { qos: 1, retain: true }); // clear it for the other tests
  });

  it('follows the system: light under prefers-color-scheme light, dark otherwise', async () => {
    const background = (page: Page) => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const panel = (page: Page) => page.getByTestId('topic-page').evaluate((e) => getComputedStyle(e).backgroundColor);
    const light = await open({ colorScheme: 'light' });
    expect(await background(light)).toBe('rgb(248, 250, 252)');
    expect(await panel(light)).toBe('rgb(255, 255, 255)');
    const dark = await open({ colorScheme: 'dark' });
    expect(await background(dark)).toBe('rgb(15, 23, 42)');
  });

  it('shows the value and time of the point under the pointer on a chart', async () => {
    await mqtt.publishAsync('devices/chart/sensor', JSON.stringify({ v: 10 }), { qos: 1, retain: true });
    const page = await open();
    await expect.poll(() => topicsSeen(page)).toBeGreaterThan(0);
    await selectTopic(page, 'devices/chart/sensor');
    for (const v of [25, 17]) await mqtt.publishAsync('devices/chart/sensor', JSON.stringify({ v }), { qos: 1 });
    const chart = page.locator('[data-testid="chart"][data-field="v"] svg');
    await expect.poll(() => page.locator('[data-testid="chart"][data-field="v"]').getAttribute('data-field')).toBe('v');
    await expect.poll(() => page.getByTestId('history').locator('li').count()).toBe(3);
    const box = (await chart.boundingBox())!;
    const value = page.locator('[data-testid="chart"][data-field="v"]').getByTestId('chart-value');
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    await expect.poll(() => value.textContent()).toMatch(/^17 at \d\d:\d\d:\d\d\.\d{3}$/);
    await page.mouse.move(box.x + (50 / 320) * box.width, box.y + box.height / 2);
    await expect.poll(() => value.textContent()).toMatch(/^10 at /);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height + 40);
    await expect.poll(() => value.count()).toBe(0);
  });
});

describe('charts: several fields on one chart, and a time range (item 13)', () => {
  it('puts the chosen fields on one chart, and draws only the points of the range chosen', async () => {
    const context = forTheTest.add(await browser.newContext({ viewport: VIEWPORT }), (c) => c.close());
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    // The page's clock (not the worker's, which dates the messages) is moved on below to age the points.
    await page.clock.install();
    await page.goto(httpUrl);
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    const topic = 'devices/chart2/env';
    // 'connected' shows before the page's SUBSCRIBE is answered: a retained message published in that moment can
    // reach it twice, live and from the store as the subscription lands beside it (Aedes). So the first is sent
    // once a message published now is seen, bounded.
    await expect
      .poll(async () => {
        await mqtt.publishAsync('devices/chart2/probe', 'x', { qos: 1 });
        return topicsSeen(page);
      })
      .toBeGreaterThan(0);
    await mqtt.publishAsync(topic, JSON.stringify({ temp: 20, hum: 40, seq: 1 }), { qos: 1, retain: true });
    await selectTopic(page, topic);
    for (const [temp, hum, seq] of [[22, 45, 2], [21, 50, 3]]) await mqtt.publishAsync(topic, JSON.stringify({ temp, hum, seq }), { qos: 1 });
    await expect.poll(() => page.getByTestId('history').locator('li').count()).toBe(3);
    const charts = () => page.getByTestId('chart').evaluateAll((figures) => figures.map((f) => f.getAttribute('data-field')));
    const pointsDrawn = () => page.locator('[data-testid="chart"] polyline').evaluateAll((lines) => lines.map((l) => `${l.getAttribute('data-field')}:${l.getAttribute('points')!.split(' ').length}`));
    expect(await charts()).toEqual(['temp', 'hum']); // seq only grows: off until turned on

    // Together: one chart, one line a field, the values of each at the pointer.
    await page.getByTestId('chart-together').check();
    await expect.poll(charts).toEqual(['temp,hum']);
    expect(await pointsDrawn()).toEqual(['temp:3', 'hum:3']);
    await page.locator('[data-testid="chart-field"][data-field="seq"]').check();
    await expect.poll(charts).toEqual(['temp,hum,seq']);
    await page.locator('[data-testid="chart-field"][data-field="hum"]').uncheck();
    await expect.poll(charts).toEqual(['temp,seq']);
    const box = (await page.locator('[data-testid="chart"] svg').boundingBox())!;
    await page.mouse.move(box.x + box.width - 2, box.y + box.height / 2);
    await expect.poll(() => page.getByTestId('chart-value').textContent()).toMatch(/^temp 21 · seq 3 at \d\d:\d\d:\d\d\.\d{3}$/);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height + 40);

    // The range: five minutes on, the last minute holds none of the points, the last ten all of them.
    await page.clock.setSystemTime(Date.now() + 5 * 60_000);
    await page.getByTestId('chart-range').selectOption('last 1 min');
    await expect.poll(charts).toEqual([]);
    expect(await page.getByTestId('chart-empty').textContent()).toBe('Not two points in the last 1 min.');
    await page.getByTestId('chart-range').selectOption('last 10 min');
    await expect.poll(pointsDrawn).toEqual(['temp:3', 'seq:3']);
    // Eleven minutes on, the ten minutes hold none, and "all kept" has them all again; one chart a field again.
    await page.clock.setSystemTime(Date.now() + 11 * 60_000);
    await expect.poll(charts).toEqual([]);
    await page.getByTestId('chart-range').selectOption('all kept');
    await page.getByTestId('chart-together').uncheck();
    await expect.poll(charts).toEqual(['temp', 'seq']);
    expect(await pointsDrawn()).toEqual(['temp:3', 'seq:3']);
    await mqtt.publishAsync(topic, '', { qos: 1, retain: true });
  });
});

describe('several saved connections with a quick switch (item 13)', () => {
  it('keeps the broker remembered before, adds, switches (views afresh, stored password sent), renames and deletes', async () => {
    const users = await makeUsers({ carol: 'viewer', root: 'admin' });
    const other = forTheTest.add(spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--data-dir', 'none', '--log-format', 'json', '--users', users.file]), (b) => b.stop());
    const otherReady = await brokerReady(other);
    const otherHost = new URL(otherReady.ws).host;
    const otherClient = forTheTest.add(await connect(otherReady.mqtt, { username: 'root', password: 'root-password' }), (c) => c.endAsync());
    await otherClient.publishAsync('devices/connb/temp', '<b>20</b>', { qos: 1, retain: true });
    await mqtt.publishAsync('devices/conna/temp', '21', { qos: 1, retain: true });
    const page = await open();
    const switcher = page.getByTestId('connection-switch');
    const options = () => switcher.locator('option:not([disabled])').allTextContents();
    const chosen = () => switcher.evaluate((s: HTMLSelectElement) => s.selectedOptions[0]?.textContent ?? '');
    const carolLogins = () => other.events('client_connected').filter((e) => e.user === 'carol' && e.transport === 'ws').length;
    await expect.poll(() => row(page, 'devices/conna/temp').count()).toBe(1);
    expect(await switcher.count()).toBe(0); // nothing saved: no switch

    // What an older page remembered (one broker, its password ticked to be stored) is the first saved connection.
    await page.evaluate((url) => localStorage.setItem('mqlive.broker', JSON.stringify({ url, username: 'carol', password: 'carol-password' })), otherReady.ws);
    await page.reload();
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    expect(await page.getByTestId('broker-url').textContent()).toBe(otherReady.ws);
    await expect.poll(carolLogins).toBe(1);
    expect(await options()).toEqual([otherHost]);
    expect(await chosen()).toBe(otherHost);
    await expect.poll(() => row(page, 'devices/connb/temp').count()).toBe(1);

    // Add the page's own broker as "home": the views start afresh for it.
    await page.getByTestId('connection-button').click();
    const homeUrl = new URL('/mqtt', httpUrl.replace(/^http/, 'ws')).href;
    await page.getByTestId('connect-url').fill(homeUrl);
    await page.getByTestId('login-user').fill('');
    expect(await page.getByTestId('connect-remember').isChecked()).toBe(true);
    await page.getByTestId('connect-name').fill('home');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    expect(await options()).toEqual([otherHost, 'home']);
    expect(await chosen()).toBe('home');
    await expect.poll(() => row(page, 'devices/conna/temp').count()).toBe(1);
    expect(await row(page, 'devices/connb/temp').count()).toBe(0);

    // The quick switch: one choice connects, with the stored password, and the other broker's views are gone.
    await switcher.selectOption({ label: otherHost });
    await expect.poll(() => page.getByTestId('broker-url').textContent()).toBe(otherReady.ws);
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    await expect.poll(carolLogins).toBe(2);
    await expect.poll(() => row(page, 'devices/connb/temp').count()).toBe(1);
    expect(await row(page, 'devices/conna/temp').count()).toBe(0);
    await selectTopic(page, 'devices/connb/temp');
    await expect.poll(() => page.getByTestId('topic-page').innerText()).toContain('<b>20</b>'); // the payload as text

    // Rename and delete in the form; the page opens with the one switched to.
    await page.getByTestId('connection-button').click();
    await page.locator(`[data-testid="saved-connections"] li[data-url="${otherReady.ws}"]`).getByTestId('saved-name').fill('lab');
    await page.locator(`[data-testid="saved-connections"] li[data-url="${otherReady.ws}"]`).getByTestId('saved-name').press('Enter');
    await expect.poll(options).toEqual(['lab', 'home']);
    await page.locator(`[data-testid="saved-connections"] li[data-url="${homeUrl}"]`).getByTestId('saved-delete').click();
    await expect.poll(options).toEqual(['lab']);
    await page.reload();
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
    expect(await page.getByTestId('broker-url').textContent()).toBe(otherReady.ws);
    expect(await options()).toEqual(['lab']);
    await mqtt.publishAsync('devices/conna/temp', '', { qos: 1, retain: true });
  });
});

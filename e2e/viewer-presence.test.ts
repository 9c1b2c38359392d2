import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { launchChromium } from '../test-support/chromium';
import { startMqtt311Broker } from '../test-support/mqtt311-broker';
import { brokerReady, spawnMqlive, spawnProcess } from '../test-support/processes';
import { Teardown, teardownAfterEach } from '../test-support/teardown';
import { requireTool } from '../test-support/tools';

// Issue 29, items 1-4: what the device list says of presence, and what Remove and Clear leave behind, in a real
// Chromium against the compiled broker (MQTT 5) and a real Aedes 1.2 that refuses MQTT 5 (the page's 3.1.1
// fallback); the command-line steps with Debian's mosquitto clients, as a user would type them.
interface Target {
  /** The page's `?broker=`, or none for the page's own broker. */
  query: string;
  mqttPort: number;
  version: 'MQTT 5' | 'MQTT 3.1.1';
}
let httpUrl: string;
const targets: Record<'v5' | 'v311', Target> = {} as never;
let browser: Browser;
const forTheFile = new Teardown();
const forTheTest = teardownAfterEach();

beforeAll(async () => {
  requireTool('mosquitto_pub', 'mosquitto-clients');
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  const broker = forTheFile.add(spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--data-dir', 'none', '--log-format', 'json']), (b) => b.stop());
  const ready = await brokerReady(broker);
  httpUrl = ready.http;
  targets.v5 = { query: '', mqttPort: Number(new URL(ready.mqtt).port), version: 'MQTT 5' };
  const old = forTheFile.add(await startMqtt311Broker({ webSocket: true }), (b) => b.close());
  targets.v311 = { query: `?broker=${encodeURIComponent(old.wsUrl!)}`, mqttPort: Number(new URL(old.url).port), version: 'MQTT 3.1.1' };
  browser = forTheFile.add(await launchChromium(), (b) => b.close());
}, 60_000);

afterAll(() => forTheFile.run());

async function open(target: Target): Promise<Page> {
  const page = forTheTest.add(await browser.newPage({ viewport: { width: 1400, height: 900 } }), (p) => p.close());
  page.setDefaultTimeout(10_000);
  await page.goto(`${httpUrl}${target.query}`); // httpUrl ends with /
  await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
  await expect.poll(() => page.getByTestId('mqtt-version').textContent()).toBe(target.version);
  return page;
}

/** mosquitto_pub as the issue types it; `null` sends no payload (`-n`: with `-r`, a clear). */
async function pub(target: Target, topic: string, message: string | null, retain = false): Promise<void> {
  const args = ['-h', '127.0.0.1', '-p', String(target.mqttPort), '-q', '1', '-t', topic, ...(message === null ? ['-n'] : ['-m', message]), ...(retain ? ['-r'] : [])];
  const p = spawnProcess('mosquitto_pub', args);
  expect(await p.exited, p.output()).toBe(0);
}

/** What a fresh mosquitto_sub gets retained under `filter` (it waits 2 s for more, then ends). */
async function retainedNow(target: Target, filter: string): Promise<string> {
  const p = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(target.mqttPort), '-t', filter, '-v', '--retained-only', '-W', '2']);
  await p.exited;
  return p.output().replace(/^Timed out\n?/m, '');
}

async function subscribe(page: Page, filter: string): Promise<void> {
  await page.getByTestId('subscribe-filter').fill(filter);
  await page.getByTestId('subscribe-filter').press('Enter');
  await expect.poll(() => page.getByTestId('subscriptions').textContent()).toContain(filter);
}

const row = (page: Page, path: string) => page.locator(`[data-testid="topic-tree"] li[data-path="${path}"]`);
const device = (page: Page, id: string) => page.locator(`[data-testid="device"][data-device="${id}"]`);

/** A barrier: a live message published after the steps under test has reached the page's tree. */
async function barrier(page: Target, on: Page, topic: string): Promise<void> {
  await pub(page, topic, 'marker');
  await expect.poll(() => row(on, topic).count()).toBe(1);
}

const meta = JSON.stringify({ name: 'pi', kind: 'sensor', source: 'bme280', screen: null, host: 'pi', version: '1', schema: 1, startedAt: 1 });

describe.each(['v5', 'v311'] as const)('presence and clearing (%s)', (which) => {
  const target = () => targets[which];

  it('item 1: a device that never published a status is "no status", seen just now; online only from its status', async () => {
    const page = await open(target());
    await pub(target(), `devices/sensor9${which}/temp`, '19.5');
    const sensor = device(page, `sensor9${which}`);
    await expect.poll(() => sensor.count()).toBe(1);
    expect(await sensor.getAttribute('data-status')).toBe('unknown');
    await expect.poll(() => sensor.textContent()).toMatch(/no status/);
    expect(await sensor.textContent()).toMatch(/seen (just now|\d+ s ago)/);
    expect(await sensor.textContent()).not.toMatch(/online/);
    await pub(target(), `devices/sensor9${which}/status`, 'online', true);
    await expect.poll(() => sensor.getAttribute('data-status')).toBe('online');
    await pub(target(), `devices/sensor9${which}/status`, 'offline', true);
    await expect.poll(() => sensor.getAttribute('data-status')).toBe('offline');
    // Its status cleared, nothing says it is there: it leaves; its next reading brings it back, with no status.
    await pub(target(), `devices/sensor9${which}/status`, null, true);
    await expect.poll(() => sensor.count()).toBe(0);
    await pub(target(), `devices/sensor9${which}/temp`, '19.6');
    await expect.poll(() => sensor.getAttribute('data-status')).toBe('unknown');
    // Remove: over MQTT 5 nothing retained is there (it goes from the list at once); over 3.1.1 the page cannot
    // tell, so it offers the topic it has seen, and the clear takes the device away.
    await sensor.getByRole('button', { name: 'Remove' }).click();
    if (which === 'v311') {
      await expect.poll(() => sensor.getByTestId('clear-confirm').textContent()).toMatch(new RegExp(`Clear 1 topic at devices/sensor9${which} and below\\?`));
      await sensor.getByTestId('clear-confirm-yes').click();
    }
    await expect.poll(() => sensor.count()).toBe(0);
    await barrier(target(), page, `devices/after-sensor9${which}/x`);
    expect(await sensor.count()).toBe(0);
  });

  it("item 2: Remove on the README's sensor (status, meta and a retained reading) clears all three, and the device leaves", async () => {
    const id = `pi${which}`;
    const page = await open(target());
    // The sensor recipe and the device-client recipe, then its close(): offline, retained.
    await pub(target(), `devices/${id}/status`, 'online', true);
    await pub(target(), `devices/${id}/meta`, meta, true);
    await pub(target(), `devices/${id}/temperature/celsius`, '21.5', true);
    await pub(target(), `devices/${id}/status`, 'offline', true);
    const pi = device(page, id);
    await expect.poll(() => pi.getAttribute('data-status')).toBe('offline');
    await pi.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => pi.getByTestId('clear-confirm').textContent()).toMatch(new RegExp(`Clear 3 .*at devices/${id} and below\\?`));
    await pi.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => pi.count()).toBe(0);
    await barrier(target(), page, `devices/after${id}/x`);
    expect(await pi.count()).toBe(0);
    expect(await retainedNow(target(), `devices/${id}/#`)).toBe('');
  });

  it('item 3: a topic cleared from the command line leaves the tree, and Branch to clear lists only what is still retained', async () => {
    const home = `home${which}`;
    await pub(target(), `${home}/kitchen/power`, '40', true);
    await pub(target(), `${home}/kitchen/light`, 'on', true);
    const page = await open(target());
    await subscribe(page, `${home}/#`);
    await page.getByLabel('Search topics').fill(`${home}/#`);
    await expect.poll(() => row(page, `${home}/kitchen/power`).count()).toBe(1);
    await expect.poll(() => row(page, `${home}/kitchen/light`).count()).toBe(1);
    await pub(target(), `${home}/kitchen/power`, null, true);
    await expect.poll(() => row(page, `${home}/kitchen/power`).count()).toBe(0);

    const publishPanel = page.getByTestId('publish');
    await publishPanel.getByTestId('clear-branch').fill(home);
    await publishPanel.getByRole('button', { name: 'Clear retained' }).click();
    const confirm = publishPanel.getByTestId('clear-confirm');
    await expect.poll(() => confirm.textContent()).toMatch(new RegExp(`Clear 1 .*at ${home} and below\\?`));
    expect(await confirm.textContent()).not.toContain('power');
    await publishPanel.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => publishPanel.getByTestId('clear-outcome').textContent()).toMatch(/^Cleared 1 /);
    await barrier(target(), page, `${home}/marker`);
    expect(await row(page, `${home}/kitchen/power`).count()).toBe(0);
    expect(await row(page, `${home}/kitchen/light`).count()).toBe(0);
    expect(await retainedNow(target(), `${home}/#`)).toBe('');
  });

  it("item 3: a topic published retained from the page and cleared with its own Clear 1 leaves the tree", async () => {
    const desk = `desk${which}`;
    const page = await open(target());
    await subscribe(page, `${desk}/#`);
    await page.getByLabel('Search topics').fill(`${desk}/#`);
    await page.getByTestId('publish-topic').fill(`${desk}/lamp`);
    await page.getByTestId('publish-payload').fill('on');
    await page.getByTestId('publish-retain').check();
    await page.getByTestId('publish-send').click();
    await expect.poll(() => row(page, `${desk}/lamp`).count()).toBe(1);
    await row(page, `${desk}/lamp`).getByRole('button', { name: 'lamp', exact: true }).click();
    const topicPage = page.getByTestId('topic-page');
    await topicPage.getByTestId('clear-retained').click();
    await expect.poll(() => topicPage.getByTestId('clear-confirm').textContent()).toMatch(new RegExp(`Clear 1 .*at ${desk}/lamp\\?`));
    await topicPage.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => row(page, `${desk}/lamp`).count()).toBe(0);
    await barrier(target(), page, `${desk}/marker`);
    expect(await row(page, `${desk}/lamp`).count()).toBe(0);
    expect(await topicPage.getByTestId('topic-gone').textContent()).toMatch(/cleared/);
    expect(await retainedNow(target(), `${desk}/#`)).toBe('');
  });

  it('item 4: a retained message published while the page is subscribed can be cleared from its topic page', async () => {
    const lab = `lab${which}`;
    const page = await open(target());
    await subscribe(page, `${lab}/#`);
    await page.getByLabel('Search topics').fill(`${lab}/#`);
    await pub(target(), `${lab}/lamp`, 'on', true);
    await expect.poll(() => row(page, `${lab}/lamp`).count()).toBe(1);
    // Over MQTT 5 it keeps its retain flag (R); over 3.1.1 it comes without, and the page says what it offers.
    await expect.poll(() => row(page, `${lab}/lamp`).getByTestId('figures').textContent()).toMatch(which === 'v5' ? /^R 1 msg/ : /^1 msg/);
    await row(page, `${lab}/lamp`).getByRole('button', { name: 'lamp', exact: true }).click();
    const topicPage = page.getByTestId('topic-page');
    await topicPage.getByTestId('clear-retained').click();
    const confirm = topicPage.getByTestId('clear-confirm');
    await expect.poll(() => confirm.textContent()).toMatch(new RegExp(`Clear 1 .*at ${lab}/lamp\\?`));
    if (which === 'v311') expect(await confirm.textContent()).toMatch(/MQTT 3\.1\.1 .*cannot tell .*retained.*no harm/);
    else expect(await confirm.textContent()).not.toMatch(/MQTT 3\.1\.1/);
    await topicPage.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => row(page, `${lab}/lamp`).count()).toBe(0);
    expect(await retainedNow(target(), `${lab}/#`)).toBe('');
  });
});

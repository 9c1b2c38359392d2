import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { launchChromium } from '../test-support/chromium';
import { brokerReady, spawnMqlive, spawnProcess } from '../test-support/processes';
import { makeUsers } from '../test-support/security';
import { Teardown, teardownAfterEach } from '../test-support/teardown';
import { requireTool } from '../test-support/tools';

// Issue 29, item 14: the viewer's words as a person reads them, in a real Chromium against the compiled broker
// (one open, one that asks for a login), fed by Debian's mosquitto clients. Payloads are shown as text.
let open: { http: string; ws: string; mqttPort: number };
let guarded: { http: string };
let browser: Browser;
const forTheFile = new Teardown();
const forTheTest = teardownAfterEach();

beforeAll(async () => {
  requireTool('mosquitto_pub', 'mosquitto-clients');
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  const args = ['broker', '--mqtt-port', '0', '--http-port', '0', '--data-dir', 'none', '--log-format', 'json'];
  const a = await brokerReady(forTheFile.add(spawnMqlive(args), (b) => b.stop()));
  open = { http: a.http, ws: a.ws, mqttPort: Number(new URL(a.mqtt).port) };
  const { file } = await makeUsers({ alice: 'viewer' });
  const b = await brokerReady(forTheFile.add(spawnMqlive([...args, '--users', file]), (p) => p.stop()));
  guarded = { http: b.http };
  browser = forTheFile.add(await launchChromium(), (c) => c.close());
}, 60_000);

afterAll(() => forTheFile.run());

async function newPage(url: string, viewport = { width: 1400, height: 900 }): Promise<Page> {
  const page = forTheTest.add(await browser.newPage({ viewport }), (p) => p.close());
  page.setDefaultTimeout(10_000);
  await page.goto(url);
  return page;
}

async function connected(url: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await newPage(url, viewport);
  await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('connected');
  return page;
}

async function pub(topic: string, message: string, retain = false): Promise<void> {
  const p = spawnProcess('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(open.mqttPort), '-q', '1', '-t', topic, '-m', message, ...(retain ? ['-r'] : [])]);
  expect(await p.exited, p.output()).toBe(0);
}

const row = (page: Page, path: string) => page.locator(`[data-testid="topic-tree"] li[data-path="${path}"]`);

describe('the viewer says it once and plainly', () => {
  it('a publish the contract refuses: "Not sent: missing field "y" …", once (it read "Not sent: not sent: …")', async () => {
    const page = await connected(open.http);
    await page.getByRole('textbox', { name: 'Topic' }).fill('devices/t1/mouse/move');
    await page.getByRole('textbox', { name: 'Payload' }).fill('{"x":1,"ts":1,"seq":0}');
    await page.getByRole('button', { name: 'Publish' }).click();
    const expected = 'missing field "y" (the broker would drop it: devices/t1/mouse/move is a contract topic)';
    await expect.poll(() => page.getByTestId('publish-result').textContent()).toBe(`Not sent: ${expected}`);
    const newest = page.locator('[data-testid="publish-history"] li').first();
    expect(await newest.getAttribute('data-outcome')).toBe('failed');
    expect(await newest.locator('.why').textContent()).toBe(expected);
  });

  it('spaces and counts in the figures: "1 topic", "0.0/s · last message retained", "… KiB (the first 8.0 KiB kept)"', async () => {
    await pub('text14/a/temp', '21.5', true);
    await pub('text14/big', 'x'.repeat(20_000), true);
    const page = await connected(open.http);
    await page.getByTestId('subscribe-filter').fill('text14/#');
    await page.getByTestId('subscribe-filter').press('Enter');
    await expect.poll(() => row(page, 'text14/big').count()).toBe(1);
    // The branch text14/a holds one topic.
    await expect.poll(() => row(page, 'text14/a').locator('[data-testid="figures"]').textContent()).toMatch(/ · 1 topic$/);
    await row(page, 'text14/a').getByRole('button', { name: 'a', exact: true }).click();
    await expect.poll(() => page.getByTestId('topic-figures').textContent()).toMatch(/ · 1 topic in this branch$/);
    await page.locator('[data-testid="topic-tree"] li[data-path="text14/a/temp"]').getByRole('button', { name: 'temp' }).click();
    await expect.poll(() => page.getByTestId('topic-figures').textContent()).toMatch(/^1 msg · \d+\.\d\/s · last message retained$/);
    await row(page, 'text14/big').getByRole('button', { name: 'big' }).click();
    await expect.poll(() => page.getByTestId('shown-message').textContent()).toMatch(/ · 19\.5 KiB \(the first 8\.0 KiB kept\)$/);
  });

  it('"All devices" on load is a chosen button, not what looks like a focused text box', async () => {
    const page = await connected(open.http);
    const all = page.getByRole('button', { name: 'All devices' });
    expect(await all.getAttribute('aria-pressed')).toBe('true');
    const look = await all.evaluate((el) => ({ focused: document.activeElement === el, ring: getComputedStyle(el).boxShadow, outline: getComputedStyle(el).outlineStyle }));
    expect(look).toEqual({ focused: false, ring: 'none', outline: 'none' });
  });

  it('Escape closes the connection form, as Cancel does', async () => {
    const page = await connected(open.http);
    await page.getByTestId('connection-button').click();
    await expect.poll(() => page.getByTestId('login').count()).toBe(1);
    await page.getByTestId('connect-url').press('Escape');
    await expect.poll(() => page.getByTestId('login').count()).toBe(0);
    expect(await page.getByTestId('connection-state').textContent()).toBe('connected');
  });

  it('on a phone the header shows who you are whole (it was cut to "yo…")', async () => {
    const page = await connected(open.http, { width: 390, height: 844 });
    const id = await page.getByTestId('viewer-id').textContent();
    const who = await page.locator('.who').evaluate((el) => ({ text: el.textContent, cut: el.scrollWidth > el.clientWidth, right: el.getBoundingClientRect().right }));
    expect(who.text).toBe(`you are ${id}`);
    expect(who.cut).toBe(false);
    expect(who.right).toBeLessThanOrEqual(390);
  });

  it('the Latency panel ("last 10 s") lets a device go once it sent nothing for 10 s (its figures stayed minutes on)', async () => {
    const page = await connected(open.http);
    const latency = page.locator('[data-testid="latency"][data-device="lat14"]');
    await pub('devices/lat14/mouse/move', JSON.stringify({ x: 1, y: 2, ts: Date.now(), seq: 0 }));
    await expect.poll(() => latency.count()).toBe(1);
    expect(await latency.textContent()).toMatch(/1 event · lost/);
    const sentAt = Date.now();
    // Bounded: the window and the panel's 1 s clock, with room for a loaded machine.
    await expect.poll(() => latency.count(), { timeout: 20_000 }).toBe(0);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(9_000);
    expect(await page.getByTestId('no-latency').textContent()).toBe('No events with a capture time in the last 10 s.');
  });

  it('?broker= with another path than /mqtt says which URL would do, as the command line does', async () => {
    const wrong = open.ws.replace(/\/mqtt$/, '/mqt');
    const page = await newPage(`${open.http}?broker=${encodeURIComponent(wrong)}`);
    await expect.poll(() => page.getByTestId('connection-error').textContent(), { timeout: 15_000 }).toBe(
      `cannot reach a broker at ${wrong}: nothing answers there, or it is not MQTT over WebSocket. mqlive's broker serves it at the path /mqtt: use ${open.ws}`,
    );
  });
});

describe('while the broker asks for a login', () => {
  it('the Devices panel says a login is needed (not that the broker is unreachable), and a refused login keeps the user name', async () => {
    const page = await newPage(guarded.http);
    await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 15_000 }).toBe('login needed');
    expect(await page.getByTestId('no-devices').textContent()).toMatch(/^\s*Not connected: the broker asks for a login\. Devices show up once you are logged in\.\s*$/);
    await page.getByTestId('login-user').fill('alice');
    await page.getByTestId('login-password').fill('wrong-password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login').textContent()).toContain('Wrong user name or password.');
    expect(await page.getByTestId('login-user').inputValue()).toBe('alice');
    expect(await page.getByTestId('login-password').inputValue()).toBe('');
    // Escape does not close the form the broker asks for (it has no Cancel either).
    await page.getByTestId('login-password').press('Escape');
    expect(await page.getByTestId('login').count()).toBe(1);
  });
});

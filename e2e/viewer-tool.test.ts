import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { repeatUntil, spawnProcess } from '../test-support/processes';
import { makeUsers } from '../test-support/security';
import { Teardown, teardownAfterEach } from '../test-support/teardown';
import { requireTool } from '../test-support/tools';

// The viewer as an MQTT tool (issue 16): choosing a broker, subscriptions, publishing, clearing retained
// messages; in a real Chromium, against real brokers, checked with Debian's mosquitto clients.
let home: TestBroker; // serves the page; anonymous clients may do everything (loopback)
let guarded: TestBroker; // another port, so another origin; users with roles
let browser: Browser;
const forTheFile = new Teardown();
// Each test's pages go when it ends (each page has a browser context of its own, so its own localStorage).
const forTheTest = teardownAfterEach();

async function open(broker: TestBroker = home, viewport = { width: 1400, height: 900 }): Promise<Page> {
  const page = forTheTest.add(await browser.newPage({ viewport }), (p) => p.close());
  page.setDefaultTimeout(10_000);
  await page.goto(broker.broker.httpUrl);
  return page;
}

const state = (page: Page) => page.getByTestId('connection-state').textContent();
const connected = (page: Page) => expect.poll(() => state(page), { timeout: 15_000 }).toBe('connected');

async function mosquittoPub(broker: TestBroker, topic: string, message: string, retain = false) {
  const args = ['-h', '127.0.0.1', '-p', String(broker.broker.mqttPort), '-t', topic, '-q', '1', '-m', message];
  const p = spawnProcess('mosquitto_pub', retain ? [...args, '-r'] : args);
  expect(await p.exited, p.output()).toBe(0);
}

/** What a fresh mosquitto_sub gets retained under `filter` (it waits 2 s for more, then ends). */
async function retainedNow(broker: TestBroker, filter: string): Promise<string> {
  const p = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(broker.broker.mqttPort), '-t', filter, '-v', '--retained-only', '-W', '2']);
  await p.exited;
  return p.output().replace(/^Timed out\n?/m, ''); // what -W prints when its time is up
}

/** Connects the page through the connection form, as `user` (password: name + "-password"). */
async function connectThroughForm(page: Page, url: string, user: string) {
  await page.getByTestId('connection-button').click();
  await page.getByTestId('connect-url').fill(url);
  await page.getByTestId('login-user').fill(user);
  await page.getByTestId('login-password').fill(`${user}-password`);
  await page.getByTestId('login-trust').check();
  await page.getByTestId('login-submit').click();
}

beforeAll(async () => {
  requireTool('mosquitto_sub', 'mosquitto-clients');
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  home = forTheFile.add(await startTestBroker(), (b) => b.close());
  guarded = forTheFile.add(await startTestBroker({ users: (await makeUsers({ alice: 'viewer', root: 'admin' })).data }), (b) => b.close());
  browser = forTheFile.add(await launchChromium(), (b) => b.close());
}, 60_000);

afterAll(() => forTheFile.run());

describe('the connection form', () => {
  it('connects to a broker of another origin, says so before a password goes there, and remembers it without the password', async () => {
    const page = await open();
    await connected(page);
    await page.getByTestId('connection-button').click();
    await page.getByTestId('connect-url').fill(guarded.broker.wsUrl);
    await expect.poll(() => page.getByTestId('connect-foreign').textContent()).toContain('is not this page\'s own broker');
    await page.getByTestId('login-user').fill('root');
    await page.getByTestId('login-password').fill('root-password');
    await page.getByTestId('connect-remember').check();
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-refused').textContent()).toMatch(/not the page's own broker/);
    expect(guarded.logs.events('client_connected')).toEqual([]); // nothing went there yet
    await page.getByTestId('login-trust').check();
    await page.getByTestId('login-submit').click();
    await connected(page);
    expect(await page.getByTestId('broker-url').textContent()).toBe(guarded.broker.wsUrl);
    expect(await page.getByTestId('broker-foreign').textContent()).toBe('other server');
    expect(guarded.logs.events('client_connected')).toContainEqual(expect.objectContaining({ user: 'root' }));

    // Remembered: the address and user name, never the password (its box was not ticked).
    const stored = await page.evaluate(() => JSON.stringify(localStorage));
    expect(stored).toContain(guarded.broker.wsUrl);
    expect(stored).not.toContain('root-password');
    await page.reload();
    await expect.poll(() => state(page), { timeout: 15_000 }).toBe('login needed');
    expect(await page.getByTestId('broker-url').textContent()).toBe(guarded.broker.wsUrl);
    expect(await page.getByTestId('login-user').inputValue()).toBe('root');

    // Forgetting it: the page's own broker again after a reload.
    await page.getByTestId('connect-url').fill(home.broker.wsUrl);
    await page.getByTestId('login-password').fill('');
    await page.getByTestId('connect-remember').uncheck();
    await page.getByTestId('login-submit').click();
    await connected(page);
    await page.reload();
    await connected(page);
    expect(await page.getByTestId('broker-url').textContent()).toBe(home.broker.wsUrl);
    expect(await page.evaluate(() => localStorage.getItem('mqlive.broker'))).toBeNull();
  });
  it("fits a phone (390 px): the header with the broker's address (the form's button) on one line, the form no wider than the screen", async () => {
    const page = await open(home, { width: 390, height: 844 });
    await connected(page);
    // One line for the name, the state and the address; who you are on a line of its own below, whole (issue 29, item 14).
    const middle = async (selector: string) => {
      const box = (await page.locator(`header ${selector}`).boundingBox())!;
      return Math.round(box.y + box.height / 2);
    };
    const line = await middle('h1');
    for (const selector of ['[data-testid="connection-state"]', '[data-testid="connection-button"]']) expect(Math.abs((await middle(selector)) - line)).toBeLessThan(4);
    expect(await middle('.who')).toBeGreaterThan(line + 10);
    expect((await page.locator('header').boundingBox())!.height).toBeLessThan(80); // two lines
    // The address a phone has room for: host and port (two brokers on one host differ by the port).
    const button = page.getByTestId('connection-button');
    await expect.poll(() => button.innerText()).toBe(`127.0.0.1:${home.broker.httpPort} ▾`);
    expect(await button.evaluate((b) => b.scrollWidth <= b.clientWidth)).toBe(true); // not cut short
    await page.getByTestId('connection-button').click();
    await page.getByTestId('connect-url').fill('wss://a-broker-with-a-rather-long-host-name.example.org:8443/mqtt');
    await page.getByTestId('connect-remember').check();
    await expect.poll(() => page.getByTestId('connect-foreign').count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
  });

  it('takes the page back from playing a recording to a broker', async () => {
    const page = await open();
    await connected(page);
    const recording = ['{"mqlive":"recording","version":1,"startedAt":1,"broker":"b","filters":["devices/#"]}', '{"t":0,"topic":"devices/rec/status","payload":"online","qos":1,"retain":true}', ''].join('\n');
    await page.getByTestId('open-recording').setInputFiles({ name: 'r.jsonl', mimeType: 'text/plain', buffer: Buffer.from(recording) });
    await expect.poll(() => state(page)).toBe('playing a recording (no broker)');
    await page.getByTestId('connection-button').click();
    await page.getByTestId('login-submit').click();
    await connected(page);
    expect(await page.getByTestId('playback').count()).toBe(0);
    await expect.poll(() => page.locator('[data-testid="device"][data-device="rec"]').count()).toBe(0);
  });
});

describe('subscriptions', () => {
  it('adds a filter with a QoS, keeps it over a reload, and really unsubscribes when removed', async () => {
    const page = await open();
    await connected(page);
    await page.getByLabel('Filter to subscribe to').fill('lab/#');
    await page.getByLabel('Subscribe with').selectOption('0');
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
    const row = page.locator('[data-testid="subscription"][data-filter="lab/#"]');
    await expect.poll(() => row.textContent()).toContain('QoS 0');
    await mosquittoPub(home, 'lab/one', '1');
    await expect.poll(() => page.locator('[data-topic="lab/one"]').count()).toBe(1);

    await page.reload();
    await connected(page);
    await expect.poll(() => row.textContent()).toContain('QoS 0');
    await expect.poll(() => row.textContent()).not.toContain('not active'); // once the broker's SUBACK is in
    await mosquittoPub(home, 'lab/two', '2');
    await expect.poll(() => page.locator('[data-topic="lab/two"]').count()).toBe(1);

    await page.getByRole('button', { name: 'Remove lab/#' }).click();
    await expect.poll(() => row.count()).toBe(0);
    await mosquittoPub(home, 'lab/three', '3');
    await mosquittoPub(home, 'devices/marker/temp', '1'); // the base subscription still delivers: after it, lab/three would have come
    await expect.poll(() => page.locator('[data-topic="devices/marker/temp"]').count()).toBe(1);
    expect(await page.locator('[data-topic="lab/three"]').count()).toBe(0);
    await page.reload();
    await connected(page);
    expect(await row.count()).toBe(0);
  });
  it('offers # as everything, and warns when the subscriptions bring more than 300 messages a second', async () => {
    const page = await open();
    await connected(page);
    await page.getByRole('button', { name: 'Everything: #' }).click();
    await expect.poll(() => page.locator('[data-testid="subscription"][data-filter="#"]').count()).toBe(1);
    expect(await page.getByTestId('subscriptions-busy').count()).toBe(0);
    const flood = await home.connect('tcp');
    for (let i = 0; i < 3000; i++) flood.publish('flood/x', String(i), { qos: 0 }); // 600 a second over the panel's 5 s
    await expect.poll(() => page.getByTestId('subscriptions-busy').textContent()).toMatch(/bring \d+ messages a second \(more than 300\)/);
  });
});

describe('the Publish panel', () => {
  it('publishes to a free-form topic that a real mosquitto_sub receives, and lists it', async () => {
    const page = await open();
    await connected(page);
    const sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(home.broker.mqttPort), '-t', 'tool/#', '-v']);
    try {
      await page.getByRole('textbox', { name: 'Topic' }).fill('tool/lamp');
      await page.getByRole('textbox', { name: 'Payload' }).fill('{"on":true}');
      await page.getByRole('combobox', { name: 'QoS' }).selectOption('1');
      // mosquitto_sub's SUBSCRIBE cannot be seen from here: publish until it has printed one.
      await repeatUntil(
        () => sub.output().includes('tool/lamp {"on":true}'),
        () => page.getByRole('button', { name: 'Publish', exact: true }).click(),
      );
      expect(sub.output()).toContain('tool/lamp {"on":true}');
      await expect.poll(() => page.getByTestId('publish-result').textContent()).toMatch(/Sent to tool\/lamp: the broker acknowledged it/);
      expect(await page.locator('[data-testid="publish-history"] li').first().getAttribute('data-outcome')).toBe('sent');
    } finally {
      await sub.stop();
    }
  });

  it("shows a viewer's refused publish as refused, and stays connected after more than three", async () => {
    const page = await open();
    await connected(page);
    expect(await page.getByTestId('user-name').count()).toBe(0); // anonymous
    await connectThroughForm(page, guarded.broker.wsUrl, 'alice');
    await connected(page);
    expect(await page.getByTestId('user-name').textContent()).toBe('alice'); // who the broker's rights see
    await page.getByRole('textbox', { name: 'Topic' }).fill('devices/laptop/status');
    await page.getByRole('textbox', { name: 'Payload' }).fill('online');
    await page.getByRole('checkbox', { name: 'Retain' }).check();
    for (let i = 1; i <= 4; i++) {
      await page.getByRole('button', { name: 'Publish', exact: true }).click();
      await expect.poll(() => page.locator('[data-testid="publish-history"] li[data-outcome="refused"]').count()).toBe(i);
    }
    expect(await page.getByTestId('publish-result').textContent()).toBe('Refused by the broker: 0x87 Not authorized — alice may not publish there');
    expect(await state(page)).toBe('connected');
    // A QoS 0 publish has no acknowledgement: its refusal comes as the broker's notice, and the list says so.
    await page.getByRole('combobox', { name: 'QoS' }).selectOption('0');
    await page.getByRole('textbox', { name: 'Topic' }).fill('devices/laptop/meta');
    await page.getByRole('textbox', { name: 'Payload' }).fill('');
    await page.getByRole('button', { name: 'Publish', exact: true }).click();
    // Read at once (one evaluate), so the result line and the newest row are of the same render.
    const shown = () =>
      page.evaluate(() => {
        const newest = document.querySelector('[data-testid="publish-history"] li');
        return `${document.querySelector('[data-testid="publish-result"]')?.textContent} | ${newest?.getAttribute('data-outcome')} | ${newest?.textContent}`;
      });
    await expect.poll(shown).toMatch(/^Refused by the broker: alice may not publish there \| refused \| .*devices\/laptop\/meta/);
    // Where the page knows the contract, it says so before sending.
    await page.getByRole('textbox', { name: 'Payload' }).fill('maybe');
    await page.getByRole('textbox', { name: 'Topic' }).fill('devices/laptop/status');
    await expect.poll(() => page.getByTestId('publish-check').textContent()).toMatch(/contract topic: .*online.*offline/);
  });
});

describe('clearing retained messages', () => {
  it('clears a retained branch after a confirmation naming the count; a fresh mosquitto_sub gets nothing retained there', async () => {
    await mosquittoPub(home, 'old/a/x', '1', true);
    await mosquittoPub(home, 'old/a/y/z', '2', true);
    await mosquittoPub(home, 'old/b', 'kept', true);
    const page = await open();
    await connected(page);
    await page.getByLabel('Filter to subscribe to').fill('old/#');
    await page.getByRole('button', { name: 'Subscribe', exact: true }).click();
    await page.getByLabel('Search topics').fill('old/#'); // deep branches start closed: the search opens them
    await expect.poll(() => page.locator('[data-topic="old/a/y/z"]').count()).toBe(1);
    // The branch's page in the tree.
    await page.locator('[data-testid="topic-tree"] li[data-path="old/a"]').getByRole('button', { name: 'a', exact: true }).click();
    const topicPage = page.getByTestId('topic-page');
    await topicPage.getByRole('button', { name: 'Clear retained' }).click();
    await expect.poll(() => topicPage.getByTestId('clear-confirm').textContent()).toMatch(/Clear 2 retained messages at old\/a and below\?/);
    await topicPage.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => topicPage.getByTestId('clear-outcome').textContent()).toBe('Cleared 2 retained messages.');
    // Cleared topics leave the tree (the page sees each clear as an empty message), and the branch with them.
    await expect.poll(() => page.locator('[data-topic^="old/a"]').count()).toBe(0);
    expect(await page.locator('[data-topic="old/b"]').count()).toBe(1);
    expect(await topicPage.getByTestId('topic-gone').textContent()).toMatch(/cleared/);
    const left = await retainedNow(home, '#');
    expect(left).not.toContain('old/a');
    expect(left).toContain('old/b kept');

    // Any topic or branch, typed.
    const publishPanel = page.getByTestId('publish');
    await publishPanel.getByTestId('clear-branch').fill('old/b');
    await publishPanel.getByRole('button', { name: 'Clear retained' }).click();
    await expect.poll(() => publishPanel.getByTestId('clear-confirm').textContent()).toMatch(/Clear 1 retained message at old\/b\?/);
    await publishPanel.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => publishPanel.getByTestId('clear-outcome').textContent()).toBe('Cleared 1 retained message.');
    expect(await retainedNow(home, 'old/#')).toBe('');
  });

  it('removes a stale device from the list by clearing its retained status and meta', async () => {
    const meta = JSON.stringify({ name: 'stale', kind: 'mouse', source: 'demo', screen: null, host: 'h', version: '1', schema: 1, startedAt: 1 });
    await mosquittoPub(home, 'devices/stale/status', 'offline', true);
    await mosquittoPub(home, 'devices/stale/meta', meta, true);
    const page = await open();
    await connected(page);
    const stale = page.locator('[data-testid="device"][data-device="stale"]');
    await expect.poll(() => stale.count()).toBe(1);
    await stale.getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => stale.getByTestId('clear-confirm').textContent()).toMatch(/Clear 2 retained messages at devices\/stale and below\?/);
    await stale.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => stale.count()).toBe(0);
    expect(await retainedNow(home, 'devices/stale/#')).toBe('');
  });

  it("says so when the broker's rights refuse it: a viewer cannot clear a device", async () => {
    const page = await open();
    await connected(page);
    await connectThroughForm(page, guarded.broker.wsUrl, 'alice');
    await connected(page);
    const root = await guarded.login('root');
    await root.publishAsync('devices/laptop/status', 'offline', { qos: 1, retain: true });
    const laptop = page.locator('[data-testid="device"][data-device="laptop"]');
    await expect.poll(() => laptop.count()).toBe(1);
    await laptop.getByRole('button', { name: 'Remove' }).click();
    await laptop.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => laptop.getByTestId('clear-outcome').textContent()).toMatch(/Not all cleared: 1 of 1 not cleared .*refused by the broker: 0x87 Not authorized — alice may not publish there/);
    expect(await laptop.count()).toBe(1);
    expect(await state(page)).toBe('connected');
  });
});

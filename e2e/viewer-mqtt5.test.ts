import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { startMosquitto } from '../test-support/mosquitto';
import { startMqtt311Broker } from '../test-support/mqtt311-broker';
import { connect, Inbox, retainedOn } from '../test-support/mqtt';

// The viewer on MQTT 5, in a real Chromium: against mqlive's broker (MQTT 5), Debian's Mosquitto with an ACL
// (MQTT 5 reason codes), and a real Aedes 1.2 that refuses MQTT 5 (the page falls back to 3.1.1).
let env: TestBroker;
let browser: Browser;
const contexts: BrowserContext[] = [];
const ends: (() => Promise<unknown>)[] = [];

async function open(broker?: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(broker ? `${env.broker.httpUrl}?broker=${encodeURIComponent(broker)}` : env.broker.httpUrl);
  await expect.poll(() => page.getByTestId('connection-state').textContent(), { timeout: 10_000 }).toBe('connected');
  return page;
}

const row = (page: Page, path: string) => page.locator(`[data-testid="topic-tree"] li[data-path="${path}"]`);

async function openTopic(page: Page, topic: string): Promise<void> {
  await page.getByLabel('Search topics').fill(topic);
  const name = topic.split('/').at(-1)!;
  await row(page, topic).getByRole('button', { name, exact: true }).click();
  await expect.poll(() => page.getByTestId('topic-path').textContent()).toBe(topic);
}

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  env = await startTestBroker();
  browser = await launchChromium();
}, 60_000);

afterEach(async () => {
  for (const c of contexts.splice(0)) await c.close();
  for (const end of ends.splice(0)) await end();
});

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

describe('the viewer on MQTT 5 against mqlive', () => {
  it('says MQTT 5; marks a retained message that comes live with R and clears it from its topic page', async () => {
    const mqtt = await env.connect('tcp', { protocolVersion: 5 });
    const page = await open();
    await expect.poll(() => page.getByTestId('mqtt-version').textContent()).toBe('MQTT 5');
    // A refused subscription says the broker's reason code and string.
    await page.getByTestId('subscribe-filter').fill('$mqlive/#');
    await page.getByTestId('subscribe-filter').press('Enter');
    await expect.poll(() => page.getByTestId('subscribe-error').textContent()).toMatch(/^the broker refused the subscription to "\$mqlive\/#": 0x87 Not authorized/);
    // Published while the page is subscribed: over 3.1.1 it would come without its retain flag.
    await mqtt.publishAsync('devices/rap/lamp', 'on', { qos: 1, retain: true });
    await page.getByLabel('Search topics').fill('devices/rap/lamp');
    await expect.poll(() => row(page, 'devices/rap/lamp').getByTestId('figures').textContent()).toMatch(/^R 1 msg/);
    await openTopic(page, 'devices/rap/lamp');
    await page.getByTestId('topic-page').getByTestId('clear-retained').click();
    await expect.poll(() => page.getByTestId('clear-confirm').textContent()).toContain('Clear 1 retained message at devices/rap/lamp?');
    await page.getByTestId('clear-confirm-yes').click();
    await expect.poll(() => page.getByTestId('clear-outcome').textContent()).toBe('Cleared 1 retained message.');
    // A fresh subscriber finds nothing retained there (the barrier's retained marker comes after all there is).
    const fresh = await env.connect('tcp', { protocolVersion: 5 });
    expect(await retainedOn(fresh, 'devices/rap/#')).toEqual([]);
  });

  it("shows a message's properties on its topic page as text, and publishes the Publish panel's", async () => {
    const mqtt = await env.connect('tcp', { protocolVersion: 5 });
    const page = await open();
    await mqtt.publishAsync('devices/props/sensor', '{"t":1}', {
      qos: 1,
      properties: {
        contentType: 'application/json',
        responseTopic: 'devices/props/replies',
        correlationData: Buffer.from([0xff, 0x00, 0x01]),
        messageExpiryInterval: 600,
        userProperties: { '<b>x</b>': '<img src=x onerror=alert(1)>', unit: 'C' },
      },
    });
    await openTopic(page, 'devices/props/sensor');
    const properties = page.getByTestId('message-properties');
    await expect.poll(() => properties.locator('dt, dd').allTextContents()).toEqual([
      'Content type',
      'application/json',
      'Response topic',
      'devices/props/replies',
      'Correlation data',
      'hex ff 00 01',
      'Message expiry',
      expect.stringMatching(/^\d+ s left when it came$/),
      'user property <b>x</b>',
      '<img src=x onerror=alert(1)>',
      'user property unit',
      'C',
    ]);
    // Text, not markup: no element came of the values.
    expect(await properties.locator('b, img').count()).toBe(0);

    // The Publish panel's properties reach an MQTT 5 subscriber as typed.
    const got: IPublishPacket[] = [];
    mqtt.on('message', (_topic, _payload, packet) => got.push(packet));
    await mqtt.subscribeAsync('devices/props/set', { qos: 1 });
    await page.getByTestId('publish-topic').fill('devices/props/set');
    await page.getByTestId('publish-payload').fill('21');
    await page.getByTestId('publish-properties').locator('summary').click();
    await page.getByTestId('user-property-name').first().fill('origin');
    await page.getByTestId('user-property-value').first().fill('viewer <1>');
    await page.getByTestId('publish-content-type').fill('text/plain');
    await page.getByTestId('publish-correlation-data').fill('req-7');
    await page.getByTestId('publish-expiry').fill('60');
    await page.getByTestId('publish-send').click();
    await expect.poll(() => page.getByTestId('publish-result').textContent()).toBe('Sent to devices/props/set: the broker acknowledged it.');
    await expect.poll(() => got.length).toBe(1);
    const p = got[0]!.properties!;
    expect(p.userProperties).toEqual({ origin: 'viewer <1>' });
    expect(p.contentType).toBe('text/plain');
    expect(Buffer.from(p.correlationData!).toString()).toBe('req-7');
    expect(p.messageExpiryInterval).toBeGreaterThan(0);
    expect(p.messageExpiryInterval).toBeLessThanOrEqual(60);
  });
});

describe('the viewer against other brokers', () => {
  it("shows Mosquitto's MQTT 5 reason code for a refused publish", async () => {
    // (Mosquitto's ACL file does not refuse a subscription: it grants it and leaves out what may not be read.)
    const mosquitto = await startMosquitto({ acl: ['topic readwrite devices/#', 'topic readwrite clients/#', 'topic read public/#'] });
    ends.push(() => mosquitto.stop());
    const page = await open(`ws://127.0.0.1:${mosquitto.wsPort}`);
    await expect.poll(() => page.getByTestId('mqtt-version').textContent()).toBe('MQTT 5');
    await page.getByTestId('publish-topic').fill('public/notice');
    await page.getByTestId('publish-payload').fill('hello');
    await page.getByTestId('publish-send').click();
    await expect.poll(() => page.getByTestId('publish-result').textContent()).toMatch(/^Refused by the broker: 0x87 Not authorized/);
  });

  it('speaks MQTT 3.1.1 to a broker that refuses MQTT 5, and says so', async () => {
    const old = await startMqtt311Broker({ webSocket: true });
    ends.push(() => old.close());
    const page = await open(old.wsUrl);
    await expect.poll(() => page.getByTestId('mqtt-version').textContent()).toBe('MQTT 3.1.1');
    expect(await page.getByTestId('mqtt-version').getAttribute('title')).toContain('refused MQTT 5');
    expect(old.refused()).toBe(1);
    expect(await page.getByTestId('publish-properties').count()).toBe(0);
    expect(await page.getByTestId('publish-properties-note').textContent()).toContain('MQTT 3.1.1');
    // A message published there shows on the page: the connection works.
    const client: MqttClient = await connect(old.url);
    ends.push(async () => client.end(true));
    const inbox = new Inbox(client);
    await client.subscribeAsync('devices/old/#', { qos: 1 });
    await client.publishAsync('devices/old/lamp', 'on', { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'devices/old/lamp');
    await page.getByLabel('Search topics').fill('devices/old/lamp');
    await expect.poll(() => row(page, 'devices/old/lamp').getByTestId('figures').textContent()).toMatch(/^1 msg/);
  });
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../test-support/chromium';
import { freePort } from '../test-support/ports';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { startTcpProxy } from '../test-support/tcp-proxy';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 29, item 10: during a broker outage the publisher printed "62/s published" for moves it did not send, and
// the viewer counted those moves as lost afterwards. Moves are not queued while the broker is away (clicks and
// scrolls are): the publisher says how many it did not send, and gives them no `seq`, so the viewer's "lost"
// counts only what went missing on the way.
const teardown = teardownAfterEach();
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

function startBroker(mqttPort: number, httpPort: number): Spawned {
  return teardown.add(spawnMqlive(['broker', '--data-dir', 'none', '--mqtt-port', String(mqttPort), '--http-port', String(httpPort), '--log-format', 'json']), (b) => b.stop('SIGKILL'));
}

describe('moves while the broker is away', () => {
  it('the publisher says how many moves it did not send; the viewer does not count them as lost', async () => {
    const [mqttPort, httpPort] = [await freePort(), await freePort()];
    let broker = startBroker(mqttPort, httpPort);
    await brokerReady(broker);
    // The publisher comes through a proxy, so it is let back in only once the page is back (else the page would
    // miss, and rightly count, what the publisher sent before the page had reconnected).
    const proxy = teardown.add(await startTcpProxy(mqttPort), (p) => p.close());
    const page = teardown.add(await browser.newPage({ viewport: { width: 1400, height: 900 } }), (p) => p.close());
    page.setDefaultTimeout(10_000);
    await page.goto(`http://127.0.0.1:${httpPort}/`);
    const connection = () => page.getByTestId('connection-state').textContent();
    await expect.poll(connection, { timeout: 10_000 }).toBe('connected');
    const publisher = teardown.add(
      spawnMqlive(['publisher', '--url', `mqtt://127.0.0.1:${proxy.port}`, '--device', 'away', '--source', 'demo', '--log-format', 'json']),
      (p) => p.stop('SIGKILL'),
    );
    const row = page.locator('[data-testid="device"][data-device="away"]');
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('online');

    expect(await broker.stop('SIGTERM')).toBe(0);
    await publisher.waitForEvent('connection_problem', { timeoutMs: 10_000 });
    proxy.setMode('refuse');
    broker = startBroker(mqttPort, httpPort);
    await brokerReady(broker);
    await expect.poll(connection, { timeout: 15_000 }).toBe('connected');
    proxy.setMode('forward');
    await publisher.waitForEvent('connected', { timeoutMs: 15_000 });

    // The summaries (every 10 s) name the moves not sent while away, apart from those published.
    const notSent = () => publisher.events('summary').reduce((sum, e) => sum + Number(e.movesNotSent ?? 0), 0);
    await expect.poll(notSent, { timeout: 25_000, message: 'a summary naming the moves not sent' }).toBeGreaterThan(20);
    expect(publisher.output()).toMatch(/Moves: [\d.]+\/s captured, [\d.]+\/s published; \d+ not sent while the broker was away \(moves are not queued; clicks and scrolls are\)/);
    // The page has had the moves since: at most one or two in flight when the broker went down are lost on the way.
    await expect.poll(() => row.getAttribute('data-status')).toBe('online');
    const lost = Number((await row.textContent())?.match(/(\d+) lost/)?.[1] ?? 0);
    expect(lost, `the page counted ${lost} lost; the publisher did not send ${notSent()}`).toBeLessThanOrEqual(3);
  }, 120_000);
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestBroker, startTestBrokerFor, type TestBrokerOptions } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { rawRequest, upgradeHeaders } from '../test-support/raw-http';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 14, finding 6, replayed: DNS rebinding. A page at http://evil.example:P whose name is made to resolve to
// 127.0.0.1 sends Origin and Host evil.example:P, so the origin check alone let it in.
let env: TestBroker;
const teardown = teardownAfterEach();

async function start(options: TestBrokerOptions = {}) {
  env = await startTestBrokerFor(teardown, options);
  return env.broker.httpPort;
}

describe('finding 6: the Host header must name the broker', () => {
  it('refuses an upgrade and an HTTP request for another host name with 403; its own names pass', async () => {
    const port = await start();
    const evil = `evil.example:${port}`;
    expect((await rawRequest(port, '/mqtt', upgradeHeaders(evil, `http://${evil}`))).status).toBe(403);
    expect((await rawRequest(port, '/', { Host: evil })).status).toBe(403);
    expect((await rawRequest(port, '/metrics', { Host: evil })).status).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, 'localhost']) {
      expect((await rawRequest(port, '/mqtt', upgradeHeaders(host, `http://${host}`))).status, host).toBe(101);
      expect((await rawRequest(port, '/healthz', { Host: host })).status, host).toBe(200);
    }
    expect(env.broker.metrics.connectionsRefused).toBeGreaterThanOrEqual(3);
    expect(env.logs.messages()).toContain(`Refused a request for host ${evil}: not a name this broker serves (see --allowed-hosts)`);
  });

  it('accepts the names given with allowedHosts (--allowed-hosts)', async () => {
    const port = await start({ allowedHosts: ['dash.example'], allowedOrigins: ['http://dash.example'] });
    expect((await rawRequest(port, '/mqtt', upgradeHeaders(`dash.example:${port}`, 'http://dash.example'))).status).toBe(101);
    expect((await rawRequest(port, '/mqtt', upgradeHeaders(`evil.example:${port}`))).status).toBe(403);
  });
});

describe('finding 6 in Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    // Chromium's own Local Network Access checks already stop a public page from reaching loopback; other browsers
    // have none, so they are turned off here to show the broker's own defence.
    browser = await launchChromium([
      '--host-resolver-rules=MAP evil.example 127.0.0.1',
      '--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessRespectPreflightResults',
    ]);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('a page at a name rebound to 127.0.0.1 can neither load from the broker nor open /mqtt', async () => {
    const port = await start();
    const page = await browser.newPage();
    teardown.add(page, (p) => p.close());
    const direct = await page.goto(`http://evil.example:${port}/`);
    expect(direct?.status()).toBe(403);

    // The attacker's page came from the attacker's server before the name was rebound: played here by Playwright.
    await page.route(`http://evil.example:${port}/attack`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>attack</title>' }));
    await page.goto(`http://evil.example:${port}/attack`);
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url, 'mqtt');
          ws.onopen = () => (ws.close(), resolve('open'));
          ws.onerror = () => resolve('refused');
          setTimeout(() => resolve('no answer'), 5000);
        }),
      `ws://evil.example:${port}/mqtt`,
    );
    expect(outcome).toBe('refused');
  });
});

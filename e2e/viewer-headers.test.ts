import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VIEWER_DIR } from '../broker/broker';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { launchChromium } from '../test-support/chromium';
import { startRefusingBroker } from '../test-support/fake-broker';
import { makeUsers } from '../test-support/security';
import { Teardown, teardownAfterEach } from '../test-support/teardown';

// Issue 26, "the viewer can be framed": a page of another origin put the viewer in an <iframe> and it connected
// (a click on Clear retained or Publish made through someone else's page). The broker's HTTP port now sends a
// Content-Security-Policy and X-Frame-Options; the viewer must still work under that policy, with no violation.
// And the connection form: its "I trust" and "store the password" ticks belong to one broker only.
let home: TestBroker; // serves the page; anonymous clients may do everything (loopback)
let guarded: TestBroker; // another port, so another origin; users with roles
let browser: Browser;
const forTheFile = new Teardown();
const forTheTest = teardownAfterEach();

beforeAll(async () => {
  if (!existsSync(join(DEFAULT_VIEWER_DIR, 'index.html'))) throw new Error('the viewer is not built: run make build (make test does)');
  home = forTheFile.add(await startTestBroker(), (b) => b.close());
  guarded = forTheFile.add(await startTestBroker({ users: (await makeUsers({ root: 'admin' })).data }), (b) => b.close());
  browser = forTheFile.add(await launchChromium(), (b) => b.close());
}, 60_000);

afterAll(() => forTheFile.run());

async function newPage(): Promise<Page> {
  // A context of its own: its own localStorage, so what one test remembers does not reach another.
  const context = forTheTest.add(await browser.newContext({ viewport: { width: 1400, height: 900 } }), (c) => c.close());
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return page;
}

const state = (page: Page) => page.getByTestId('connection-state').textContent();
const connected = (page: Page) => expect.poll(() => state(page), { timeout: 15_000 }).toBe('connected');
const viewerConnections = (broker: TestBroker) => broker.logs.events('client_connected').filter((e) => String(e.clientId).startsWith('viewer-'));

/** A web server on another port of 127.0.0.1 (so another origin) that serves one page, `html`. */
async function otherOrigin(html: string): Promise<string> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html));
  forTheTest.add(server, (s: Server) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

interface CspIssue {
  url: string; // the page or worker it happened in
  violatedDirective: string;
  blockedURL?: string;
}

/**
 * The Content-Security-Policy violations Chromium has recorded (as DevTools issues) in every page and Web Worker
 * whose URL starts with `origin`. Audits.enable replays the issues so far before it answers, so this reads a
 * worker's violations too (Playwright forwards a worker's console calls, not its CSP errors).
 */
async function cspIssues(origin: string): Promise<CspIssue[]> {
  const cdp: CDPSession = await browser.newBrowserCDPSession();
  try {
    const { targetInfos } = await cdp.send('Target.getTargets');
    const targets = targetInfos.filter((t) => (t.type === 'page' || t.type === 'worker') && t.url.startsWith(origin));
    const issues: CspIssue[] = [];
    for (const target of targets) {
      const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
      const replayed = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no answer to Audits.enable from ${target.url}`)), 5000);
        const onMessage = (event: { sessionId: string; message: string }) => {
          if (event.sessionId !== sessionId) return;
          const message = JSON.parse(event.message) as { id?: number; method?: string; params?: { issue?: { code: string; details: { contentSecurityPolicyIssueDetails?: { violatedDirective: string; blockedURL?: string } } } } };
          const details = message.params?.issue?.details.contentSecurityPolicyIssueDetails;
          if (message.method === 'Audits.issueAdded' && details) issues.push({ url: target.url, violatedDirective: details.violatedDirective, blockedURL: details.blockedURL });
          if (message.id === 1) {
            clearTimeout(timer);
            cdp.off('Target.receivedMessageFromTarget', onMessage);
            resolve();
          }
        };
        cdp.on('Target.receivedMessageFromTarget', onMessage);
      });
      await cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id: 1, method: 'Audits.enable' }) });
      await replayed;
      await cdp.send('Target.detachFromTarget', { sessionId });
    }
    return issues;
  } finally {
    await cdp.detach();
  }
}

describe('framing', () => {
  it('a page of another origin cannot frame the viewer, and no MQTT connection comes from the frame', async () => {
    const evil = await otherOrigin(`<!doctype html><title>free prizes</title>
      <iframe id="viewer" src="${home.broker.httpUrl}" width="1200" height="800" onload="window.frameLoaded = true"></iframe>`);
    const page = await newPage();
    await page.goto(evil);
    await page.waitForFunction(() => (window as unknown as { frameLoaded?: boolean }).frameLoaded === true);
    const frame = page.frames().find((f) => f !== page.mainFrame())!;
    expect(frame.url()).not.toBe(home.broker.httpUrl); // Chromium puts its error page in the frame instead
    expect(await frame.locator('#app').count()).toBe(0);

    // Barrier: the viewer opened on its own connects; it is the only viewer the broker ever saw.
    const own = await newPage();
    await own.goto(home.broker.httpUrl);
    await connected(own);
    const ownId = await own.getByTestId('viewer-id').textContent();
    expect(viewerConnections(home).map((e) => e.clientId)).toEqual([ownId]);
  });
});

describe('the viewer under its Content-Security-Policy', () => {
  it('connects, shows a device, a click and a topic, with no CSP violation in the page or its worker', async () => {
    const page = await newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(`${m.worker() ? 'worker' : 'page'}: ${m.text()}`)));
    page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
    await page.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const response = await page.goto(home.broker.httpUrl);
    expect(response?.headers()['content-security-policy'] ?? 'none sent').toContain("frame-ancestors 'none'"); // the policy is in force
    await connected(page);

    const mqtt = await home.connect('tcp');
    const meta = { name: 'desk', kind: 'mouse', source: 'demo', screen: { width: 1920, height: 1080 }, host: 'h', version: '0.1.0', schema: 1, startedAt: Date.now() };
    await mqtt.publishAsync('devices/desk/status', 'online', { qos: 1, retain: true });
    await mqtt.publishAsync('devices/desk/meta', JSON.stringify(meta), { qos: 1, retain: true });
    await mqtt.publishAsync('devices/desk/mouse/click', JSON.stringify({ x: 10, y: 20, button: 'left', pressed: true, ts: Date.now(), seq: 0 }), { qos: 1 });
    const device = page.locator('[data-testid="device"][data-device="desk"]');
    await expect.poll(() => device.getAttribute('data-status')).toBe('online');
    await expect.poll(() => page.getByTestId('event-log').textContent()).toContain('desk left pressed at (10, 20)');
    // The pointer view, the topic tree and the event log set element styles from script (Svelte, through the CSSOM).
    await expect.poll(() => page.getByTestId('pointer-view').getAttribute('aria-label')).toBe('Pointer view: desk at (10, 20)');
    await expect.poll(() => page.locator('[data-topic="devices/desk/status"] [data-testid="payload"]').textContent()).toBe('online');
    // The connection form, and the worker opening a WebSocket to another origin (the refusing broker).
    const other = await startRefusingBroker(5);
    forTheTest.add(other, (o) => o.close());
    await page.getByTestId('connection-button').click();
    await page.getByTestId('connect-url').fill(other.url);
    await page.getByTestId('login-submit').click();
    await expect.poll(() => other.connects.length).toBeGreaterThan(0);

    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    expect(await cspIssues(home.broker.httpUrl)).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});

describe('the page that says the viewer is not built', () => {
  it('is styled by its one inline style, which its policy allows by hash: no violation', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mqlive-unbuilt-'));
    forTheTest.add(empty, (dir) => rmSync(dir, { recursive: true, force: true }));
    const unbuilt = forTheTest.add(await startTestBroker({ viewerDir: empty }), (b) => b.close());
    const page = await newPage();
    const response = await page.goto(unbuilt.broker.httpUrl);
    expect(response?.status()).toBe(503);
    expect(response?.headers()['content-security-policy'] ?? 'none sent').toContain("style-src 'self' 'sha256-");
    expect(await page.evaluate(() => getComputedStyle(document.body).maxWidth)).toBe('640px'); // 40rem: the style applied
    expect(await cspIssues(unbuilt.broker.httpUrl)).toEqual([]);
  });
});

describe('the connection form', () => {
  /** Opens the form on `page` and types `url` into it. */
  async function typeBroker(page: Page, url: string) {
    if ((await page.getByTestId('connect-url').count()) === 0) await page.getByTestId('connection-button').click();
    await page.getByTestId('connect-url').fill(url);
  }

  it('"I trust this host" holds for the broker it was ticked for, not for one typed after it', async () => {
    const first = await startRefusingBroker(5);
    const second = await startRefusingBroker(5);
    forTheTest.add(first, (b) => b.close());
    forTheTest.add(second, (b) => b.close());
    const page = await newPage();
    await page.goto(home.broker.httpUrl);
    await connected(page);
    await typeBroker(page, first.url);
    await page.getByTestId('login-trust').check();
    await typeBroker(page, second.url);
    expect(await page.getByTestId('login-trust').isChecked()).toBe(false);
    await page.getByTestId('login-user').fill('alice');
    await page.getByTestId('login-password').fill('alice-secret-password');
    await page.getByTestId('login-submit').click();
    await expect.poll(() => page.getByTestId('login-refused').textContent()).toMatch(/not the page's own broker/);
    expect(second.connects).toEqual([]); // the form stopped it: nothing was sent
    // Ticked for the second broker itself, the password goes there (the form works; the tick is per broker).
    await page.getByTestId('login-trust').check();
    await page.getByTestId('login-submit').click();
    await expect.poll(() => second.connects.some((c) => c.password === 'alice-secret-password')).toBe(true);
    expect(first.connects).toEqual([]);
  });

  it('"Also store the password" starts unticked for a broker not remembered, and unticks when the URL names another broker', async () => {
    const page = await newPage();
    await page.goto(home.broker.httpUrl);
    await connected(page);
    // Remember the guarded broker with its password.
    await typeBroker(page, guarded.broker.wsUrl);
    await page.getByTestId('login-user').fill('root');
    await page.getByTestId('login-password').fill('root-password');
    await page.getByTestId('login-trust').check();
    await page.getByTestId('connect-remember').check();
    await page.getByTestId('connect-remember-password').check();
    await page.getByTestId('login-submit').click();
    await connected(page);
    expect(JSON.parse((await page.evaluate(() => localStorage.getItem('mqlive.broker')))!)).toMatchObject({ url: guarded.broker.wsUrl, password: 'root-password' });

    // The form opened for the remembered broker shows what it keeps; another broker typed in gets no stored password.
    await page.getByTestId('connection-button').click();
    expect(await page.getByTestId('connect-remember-password').isChecked()).toBe(true);
    const other = await startRefusingBroker(5);
    forTheTest.add(other, (o) => o.close());
    await typeBroker(page, other.url);
    expect(await page.getByTestId('connect-remember-password').isChecked()).toBe(false);

    // A broker never seen before, given as ?broker=: its form starts with the box unticked and no user name.
    await page.goto(`${home.broker.httpUrl}?broker=${encodeURIComponent(other.url)}`);
    await expect.poll(() => state(page)).toBe('login needed');
    expect(await page.getByTestId('connect-url').inputValue()).toBe(other.url);
    if ((await page.getByTestId('connect-remember').isChecked()) === false) await page.getByTestId('connect-remember').check();
    expect(await page.getByTestId('connect-remember-password').isChecked()).toBe(false);
    expect(await page.getByTestId('login-user').inputValue()).toBe('');
  });
});

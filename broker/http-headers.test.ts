import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { rawRequest, upgradeHeaders } from '../test-support/raw-http';
import { readmeBlocks } from '../test-support/readme';

// Issue 26, "the viewer can be framed": the HTTP port sent no CSP, no X-Frame-Options, no nosniff. Every
// response it gives (files, error pages, /healthz, /metrics, refusals) must carry them.
let built: TestBroker; // serves a small stand-in for the built viewer
let unbuilt: TestBroker; // its viewer directory is empty: the "not built" page (503)
let viewerDir: string;
let emptyDir: string;

beforeAll(async () => {
  viewerDir = mkdtempSync(join(tmpdir(), 'mqlive-headers-'));
  emptyDir = mkdtempSync(join(tmpdir(), 'mqlive-headers-empty-'));
  mkdirSync(join(viewerDir, 'assets'));
  writeFileSync(join(viewerDir, 'index.html'), '<!doctype html><title>v</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(viewerDir, 'assets', 'app.js'), 'console.log(1)');
  built = await startTestBroker({ viewerDir });
  unbuilt = await startTestBroker({ viewerDir: emptyDir });
});

afterAll(async () => {
  await built?.close();
  await unbuilt?.close();
  rmSync(viewerDir, { recursive: true, force: true });
  rmSync(emptyDir, { recursive: true, force: true });
});

/** The CSP's directives by name. */
function directives(policy: string | null): Map<string, string> {
  return new Map((policy ?? '').split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([name, ...values]) => [name!, values.join(' ')]));
}

function expectHardened(headers: { get(name: string): string | null }, what: string) {
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('x-frame-options'), what).toBe('DENY');
  const csp = directives(headers.get('content-security-policy'));
  expect(csp.get('frame-ancestors'), what).toBe("'none'");
  expect(csp.get('object-src'), what).toBe("'none'");
  expect(csp.get('base-uri'), what).toBe("'none'");
  expect(csp.get('script-src'), what).toBe("'self'");
  expect(csp.get('style-src') ?? '', what).not.toContain('unsafe');
}

describe('security headers on the HTTP port', () => {
  it('are on the viewer page, its files, a 404, a 400, a 405, HEAD, /healthz and /metrics', async () => {
    const base = built.broker.httpUrl;
    const requests: [string, RequestInit, number][] = [
      ['/', {}, 200],
      ['/index.html', { method: 'HEAD' }, 200],
      ['/assets/app.js', {}, 200],
      ['/no-such-file', {}, 404],
      ['/%E0%A4%A', {}, 400],
      ['/', { method: 'POST' }, 405],
      ['/healthz', {}, 200],
      ['/metrics', {}, 200],
    ];
    for (const [path, init, status] of requests) {
      const response = await fetch(new URL(path, base), init);
      await response.arrayBuffer();
      const what = `${init.method ?? 'GET'} ${path}`;
      expect(response.status, what).toBe(status);
      expectHardened(response.headers, what);
    }
  });

  it("give the viewer's policy exactly: its own scripts and styles, its worker, and WebSockets to any broker", async () => {
    const csp = directives((await fetch(built.broker.httpUrl)).headers.get('content-security-policy'));
    expect(Object.fromEntries(csp)).toEqual({
      'default-src': "'none'",
      'script-src': "'self'",
      'style-src': "'self'",
      'img-src': "'self' data:",
      'connect-src': "'self' ws: wss:",
      'worker-src': "'self'",
      'frame-ancestors': "'none'",
      'object-src': "'none'",
      'base-uri': "'none'",
      'form-action': "'none'",
    });
  });

  it("is the policy docs/broker.md's Security section shows", async () => {
    const served = (await fetch(built.broker.httpUrl)).headers.get('content-security-policy');
    const shown = readmeBlocks().filter((b) => b.code.includes("frame-ancestors 'none'"));
    expect(shown.map((b) => b.file)).toEqual(['docs/broker.md']);
    expect(shown[0]!.code.replace(/\s+/g, ' ').trim()).toBe(served);
  });

  it('are on the 403 for a host name the broker does not serve', async () => {
    const port = built.broker.httpPort;
    const response = await rawRequest(port, '/', { Host: `evil.example:${port}` });
    expect(response.status).toBe(403);
    expectHardened(new Map(Object.entries(response.headers)) as unknown as Headers, 'wrong Host');
  });

  it('are on refused WebSocket upgrades and on requests Node cannot parse (found by an attack round)', async () => {
    const port = built.broker.httpPort;
    const refusals = {
      'an upgrade from another origin': await rawRequest(port, '/mqtt', upgradeHeaders(`127.0.0.1:${port}`, 'http://evil.example')),
      'an upgrade for another host': await rawRequest(port, '/mqtt', upgradeHeaders(`evil.example:${port}`)),
      'an upgrade to another path': await rawRequest(port, '/other', upgradeHeaders(`127.0.0.1:${port}`)),
      'a malformed header': await rawRequest(port, '/', { 'Bad Header': 'x' }),
      'headers too large': await rawRequest(port, '/', { Host: `127.0.0.1:${port}`, 'X-Big': 'x'.repeat(20_000) }),
    };
    expect(Object.fromEntries(Object.entries(refusals).map(([what, r]) => [what, r.status]))).toEqual({
      'an upgrade from another origin': 403,
      'an upgrade for another host': 403,
      'an upgrade to another path': 404,
      'a malformed header': 400,
      'headers too large': 431,
    });
    for (const [what, response] of Object.entries(refusals)) expectHardened(new Map(Object.entries(response.headers)) as unknown as Headers, what);
  });

  it("are on the not-built page (503), whose one inline style is allowed by its hash and nothing else", async () => {
    const response = await fetch(unbuilt.broker.httpUrl);
    const page = await response.text();
    expect(response.status).toBe(503);
    expectHardened(response.headers, '503');
    expect(page).not.toMatch(/style="/); // a style attribute would need 'unsafe-inline'
    const inline = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
    expect(inline).toHaveLength(1);
    expect(directives(response.headers.get('content-security-policy')).get('style-src')).toBe(`'self' ${inline[0]}`);
  });
});

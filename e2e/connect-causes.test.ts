import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader, encodeMessage } from '../protocol/recording';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { spawnMqlive, type Spawned } from '../test-support/processes';

// Issue 29, item 8: a URL that reaches no MQTT broker is said in one line that names the cause, the same words
// from the publisher, mqlive record and mqlive replay (not "Invalid header flag bits", not "socket hang up").
// A host that does not resolve may resolve later: the publisher keeps trying. A port that speaks something else
// will not change: the publisher stops (exit 1). Record and replay stop on any first connection that fails.

/**
 * A host name that does not resolve, without a DNS query leaving the machine: its first label is 64 characters,
 * over DNS's limit of 63, so glibc's resolver refuses it before sending anything (ENOTFOUND; checked with strace:
 * no packet to port 53). A plain `nothere.invalid` is sent to the name server in /etc/resolv.conf like any name.
 */
const UNRESOLVABLE = `${'x'.repeat(64)}.invalid`;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

let plain: TestBroker;
let tls: TestBroker;
let dir: string;
let recording: string;
beforeAll(async () => {
  [plain, tls] = await Promise.all([startTestBroker(), startTestBroker({ withTls: true })]);
  dir = mkdtempSync(join(tmpdir(), 'mqlive-causes-'));
  recording = join(dir, 'one.jsonl');
  writeFileSync(recording, [encodeHeader({ startedAt: 1, broker: 'x', filters: ['#'] }), encodeMessage({ t: 0, topic: 'lab/one', payload: Buffer.from('1'), qos: 0, retain: false }), ''].join('\n'));
});
afterAll(async () => {
  await Promise.all([plain?.close(), tls?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function mqlive(args: string[]): Spawned {
  const p = spawnMqlive(args, { MQLIVE_LOG_FORMAT: 'json' });
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

const publisher = (url: string) => mqlive(['publisher', '--source', 'demo', '--device', 'causes', '--url', url]);
const record = (url: string) => mqlive(['record', '--url', url, '--topic', 'lab/#', '--out', join(dir, 'out.jsonl')]);
const replay = (url: string) => mqlive(['replay', '--url', url, '--in', recording]);

const port = (url: string | null) => new URL(url!).port;

describe('a port that speaks something else than the URL says: one line with the URL to use; the publisher stops', () => {
  const cases: [string, () => string, () => string][] = [
    [
      "mqtt:// at mqlive's HTTP port",
      () => `mqtt://127.0.0.1:${plain.broker.httpPort}`,
      () => `it is an HTTP server (mqlive's viewer port?), not MQTT over TCP: use ws://127.0.0.1:${plain.broker.httpPort}/mqtt, or mqtt:// with the broker's MQTT port (default 1883)`,
    ],
    ['ws:// at the HTTPS port', () => `ws://127.0.0.1:${tls.broker.httpPort}/mqtt`, () => `it speaks TLS: use wss://127.0.0.1:${tls.broker.httpPort}/mqtt`],
    ['ws:// at the MQTT over TLS port', () => `ws://127.0.0.1:${port(tls.broker.mqttsUrl)}/mqtt`, () => `it is MQTT over TLS, not MQTT over WebSocket: use mqtts://127.0.0.1:${port(tls.broker.mqttsUrl)}`],
    ['ws:// at the plain MQTT port', () => `ws://127.0.0.1:${plain.broker.mqttPort}/mqtt`, () => `it is MQTT over TCP, not MQTT over WebSocket: use mqtt://127.0.0.1:${plain.broker.mqttPort}`],
    ['mqtt:// at the MQTT over TLS port', () => `mqtt://127.0.0.1:${port(tls.broker.mqttsUrl)}`, () => `it speaks TLS: use mqtts://127.0.0.1:${port(tls.broker.mqttsUrl)}`],
  ];

  it.each(cases)('%s', async (_name, urlOf, wordsOf) => {
    const [url, words] = [urlOf(), wordsOf()];
    const [p, r, q] = [publisher(url), record(url), replay(url)];

    const said = await p.waitForEvent('connection_problem', { timeoutMs: 20_000 });
    expect(said).toMatchObject({ reason: 'wrong_port', url, msg: `Cannot connect to ${url}: ${words}` });
    expect(await p.exited).toBe(1);
    expect(p.events('connection_problem')).toHaveLength(1);
    expect(p.output()).not.toMatch(/unreachable|Invalid header|socket hang up|Connected/);

    expect(await r.exited).toBe(1);
    expect(r.output().trim()).toBe(`mqlive record: cannot connect to ${url}: ${words}`);
    expect(await q.exited).toBe(1);
    expect(q.output().trim()).toBe(`mqlive replay: cannot connect to ${url}: ${words}`);
  }, 60_000);
});

describe('a host that does not resolve', () => {
  const url = `mqtt://${UNRESOLVABLE}:1883`;

  it('the publisher says so once and keeps trying', async () => {
    const p = publisher(url);
    const said = await p.waitForEvent('connection_problem', { timeoutMs: 20_000 });
    expect(said).toMatchObject({
      reason: 'unresolved_host',
      msg: `Cannot connect to ${url}: cannot resolve host ${UNRESOLVABLE}: check the host name; retrying every second, and clicks and scrolls wait in a queue until it is back`,
    });
    // Still running, and still silent about it, when its next summary of moves comes (every 10 s).
    await p.waitForEvent('summary', { timeoutMs: 20_000 });
    expect(p.hasEnded()).toBe(false);
    expect(p.events('connection_problem')).toHaveLength(1);
    expect(p.output()).not.toMatch(/getaddrinfo|ENOTFOUND/);
  }, 40_000);

  it('record and replay say the same cause and stop', async () => {
    const [r, q] = [record(url), replay(url)];
    expect(await r.exited).toBe(1);
    expect(r.output().trim()).toBe(`mqlive record: cannot connect to ${url}: cannot resolve host ${UNRESOLVABLE}: check the host name`);
    expect(await q.exited).toBe(1);
    expect(q.output().trim()).toBe(`mqlive replay: cannot connect to ${url}: cannot resolve host ${UNRESOLVABLE}: check the host name`);
  }, 30_000);
});

import { connect as tcpConnect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type TestBroker, startTestBrokerFor, type TestBrokerOptions } from '../test-support/broker';
import { connect } from '../test-support/mqtt';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 14, finding 9, replayed small: half-sent HTTP requests were not counted against the connection caps,
// and stayed open for Node's defaults (60 s for headers, 300 s for a request).
let env: TestBroker;
const teardown = teardownAfterEach();

async function start(options: TestBrokerOptions = {}) {
  env = await startTestBrokerFor(teardown, options);
  return env.broker;
}

/** A connection to the HTTP port that sends half a request head and never the rest (slowloris). */
async function halfRequest(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = teardown.add(tcpConnect(port, '127.0.0.1'), (s) => s.destroy());
  socket.on('error', () => {});
  socket.resume(); // read what the broker answers (a 408), or 'close' never comes
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
  return { socket, closed };
}

describe('finding 9: HTTP connections are bounded like MQTT ones', () => {
  it('counts HTTP connections against the per-address cap shared with MQTT', async () => {
    const broker = await start({ limits: { maxConnectionsPerAddress: 3 } });
    const slow = [];
    for (let i = 0; i < 3; i++) slow.push(await halfRequest(broker.httpPort));
    const fourth = await halfRequest(broker.httpPort);
    await fourth.closed; // refused at once
    await expect(connect(broker.mqttUrl, {}, 2000)).rejects.toThrow(); // MQTT shares the cap
    for (const s of slow) s.socket.destroy();
    await Promise.all(slow.map((s) => s.closed));
    await expect.poll(async () => (await connect(broker.mqttUrl).then((c) => (c.end(true), 'connected'), () => 'refused'))).toBe('connected');
    expect(broker.metrics.connectionsRefused).toBeGreaterThanOrEqual(2);
  });

  it('closes a request whose head does not arrive in time, and an idle keep-alive connection', async () => {
    const broker = await start({ limits: { httpHeadersTimeoutMs: 300, httpRequestTimeoutMs: 600, httpKeepAliveTimeoutMs: 300 } });
    const slow = await halfRequest(broker.httpPort);
    await slow.closed; // within the bounded test timeout, not Node's 60 s default

    const idle = teardown.add(tcpConnect(broker.httpPort, '127.0.0.1'), (s) => s.destroy());
    idle.on('error', () => {});
    const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()));
    const answered = new Promise<string>((resolve) => idle.once('data', (d: Buffer) => resolve(d.toString())));
    idle.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${broker.httpPort}\r\nConnection: keep-alive\r\n\r\n`);
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    await idleClosed;
  });

  it('uses 10 s for headers, 30 s for a request and closes idle keep-alive connections by default', async () => {
    const broker = await start();
    expect(broker.httpTimeouts).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000 });
  });
});

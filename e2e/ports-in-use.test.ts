import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { testCertificate } from '../test-support/broker';
import { freePort } from '../test-support/ports';
import { spawnMqlive, type Spawned } from '../test-support/processes';

// Issue 29, item 9: a port in use is found before anything starts, every port in use is said in one line, and
// the port suggested instead of each is free now (the old suggestion, port + 1, was itself taken by a Mosquitto
// on 1884, and the second port in use was said only on the next try).
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Listens on 127.0.0.1:`port` (0: any), closed after the test; rejects when the port is taken. */
async function hold(port = 0): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

/** Holds a port and the one after it (the suggestion of old), so only a port probed free can be suggested. */
async function holdTwo(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const port = await hold();
    if (port < 65535 && (await hold(port + 1).then(() => true, () => false))) return port;
  }
  throw new Error('no two free ports side by side on 127.0.0.1 in 20 tries');
}

function mqlive(args: string[], env: Record<string, string> = {}): Spawned {
  const p = spawnMqlive(args, env);
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

/** The ports the line suggests are free: this test can listen on them now. */
async function expectFree(ports: number[], taken: number[]): Promise<void> {
  expect(new Set(ports).size).toBe(ports.length);
  for (const port of ports) {
    expect(taken).not.toContain(port);
    await hold(port); // rejects if in use
  }
}

describe('ports in use', () => {
  it('mqlive up: both ports said in one line, before anything starts, each with a port free now', async () => {
    const [mqtt, http] = [await holdTwo(), await holdTwo()];
    const up = mqlive(['up', '--mqtt-port', String(mqtt), '--http-port', String(http), '--source', 'demo', '--data-dir', 'none']);
    expect(await up.exited).toBe(1);
    const line = up.output().trim();
    const m = line.match(
      new RegExp(`^mqlive up: ports ${mqtt} and ${http} on 127\\.0\\.0\\.1 are already in use: stop what holds them, or choose others with --mqtt-port (\\d+) --http-port (\\d+) \\(free now\\)$`),
    );
    expect(m, line).not.toBeNull();
    await expectFree([Number(m![1]), Number(m![2])], [mqtt, mqtt + 1, http, http + 1]);
  }, 30_000);

  it('under make, in the make variables: MQTT_PORT=… HTTP_PORT=…', async () => {
    const [mqtt, http] = [await holdTwo(), await holdTwo()];
    const up = mqlive(['up', '--mqtt-port', String(mqtt), '--http-port', String(http), '--source', 'demo', '--data-dir', 'none'], { MQLIVE_VIA_MAKE: '1' });
    expect(await up.exited).toBe(1);
    const m = up.output().trim().match(/choose others with MQTT_PORT=(\d+) HTTP_PORT=(\d+) \(free now\)$/);
    expect(m, up.output()).not.toBeNull();
    await expectFree([Number(m![1]), Number(m![2])], [mqtt, mqtt + 1, http, http + 1]);
  }, 30_000);

  it('mqlive broker with TLS: the MQTT over TLS and HTTP ports both said, the free MQTT port not', async () => {
    const [mqtts, http, free] = [await holdTwo(), await holdTwo(), await freePort()];
    const { certFile, keyFile } = testCertificate();
    const broker = mqlive(['broker', '--mqtt-port', String(free), '--http-port', String(http), '--tls-cert', certFile, '--tls-key', keyFile, '--mqtts-port', String(mqtts), '--data-dir', 'none']);
    expect(await broker.exited).toBe(1);
    const line = broker.output().trim();
    const m = line.match(
      new RegExp(`^mqlive broker: ports ${mqtts} and ${http} on 127\\.0\\.0\\.1 are already in use: stop what holds them, or choose others with --mqtts-port (\\d+) --http-port (\\d+) \\(free now\\)$`),
    );
    expect(m, line).not.toBeNull();
    await expectFree([Number(m![1]), Number(m![2])], [free, mqtts, mqtts + 1, http, http + 1]);
  }, 30_000);

  it('mqlive broker with one port in use: one port, one suggestion, free now', async () => {
    const http = await holdTwo();
    const broker = mqlive(['broker', '--mqtt-port', '0', '--http-port', String(http), '--data-dir', 'none']);
    expect(await broker.exited).toBe(1);
    const line = broker.output().trim();
    const m = line.match(new RegExp(`^mqlive broker: port ${http} on 127\\.0\\.0\\.1 is already in use: stop what holds it, or choose another with --http-port (\\d+) \\(free now\\)$`));
    expect(m, line).not.toBeNull();
    await expectFree([Number(m![1])], [http, http + 1]);
  }, 30_000);
});


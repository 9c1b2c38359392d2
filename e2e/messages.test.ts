import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, testCertificate } from '../test-support/broker';
import { retainedOn } from '../test-support/mqtt';
import { freePort } from '../test-support/ports';
import { spawnMqlive, spawnProcess, spawnTs, ROOT, type Spawned } from '../test-support/processes';
import { makeUsers } from '../test-support/security';

// What a user reads when something is wrong: each message names the cause and the fix, once. The publisher
// and the example publisher run as real processes against a real broker (in this process, on free ports).
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function publisher(args: string[], env: Record<string, string | undefined> = {}): Spawned {
  const p = spawnMqlive(['publisher', '--source', 'demo', ...args], env);
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

function example(args: string[], env: Record<string, string | undefined> = {}): Spawned {
  const p = spawnTs('publisher/examples/system-load.ts', args, env);
  cleanup.push(() => p.stop('SIGKILL'));
  return p;
}

async function broker(options: Parameters<typeof startTestBroker>[0] = {}) {
  const env = await startTestBroker(options);
  cleanup.push(() => env.close());
  return env;
}

const count = (text: string, pattern: RegExp) => text.match(new RegExp(pattern, 'g'))?.length ?? 0;

/** A TCP server that takes connections and closes them at once, counting them: a broker that is not there. */
async function closingServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((socket) => {
    n += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

describe('publisher messages', () => {
  it('a self-signed certificate: one line naming it and --ca FILE; with --ca it connects', async () => {
    const { broker: b } = await broker({ withTls: true });
    const refused = publisher(['--url', b.mqttsUrl!, '--device', 'tls1']);
    await refused.waitForOutput(/TLS certificate at mqtts:\/\/127\.0\.0\.1:\d+ is self-signed .*: pass that certificate, or the CA that signed it, with --ca FILE \(or MQLIVE_CA=FILE\)/, 15_000);
    expect(refused.output()).not.toMatch(/unreachable|Connected/);

    const trusted = publisher(['--url', b.mqttsUrl!, '--device', 'tls2', '--ca', testCertificate().certFile]);
    await trusted.waitForOutput(/Connected to mqtts:\/\/127\.0\.0\.1:\d+ as device "tls2"/, 15_000);
    const exampleTrusted = example(['--url', b.mqttsUrl!, '--device', 'tls3'], { MQLIVE_CA: testCertificate().certFile });
    await exampleTrusted.waitForOutput(/Connected to mqtts:\/\/127\.0\.0\.1:\d+ as device "tls3"/, 15_000);
  });

  it('ws://host:port without /mqtt: says the WebSocket path is /mqtt', async () => {
    const { broker: b } = await broker();
    const p = publisher(['--url', `ws://127.0.0.1:${b.httpPort}`, '--device', 'ws1']);
    await p.waitForOutput(new RegExp(`No MQTT over WebSocket at ws://127\\.0\\.0\\.1:${b.httpPort} .*: mqlive's broker serves it at the path /mqtt, so use --url ws://127\\.0\\.0\\.1:${b.httpPort}/mqtt$`, 'm'), 15_000);
    expect(p.output()).not.toMatch(/unreachable/);
  });

  it('a --device other than the user name: refused at connect, and says once why, not Connected/unreachable in a loop', async () => {
    const env = await broker({ users: (await makeUsers({ alice: 'device' })).data });
    const p = publisher(['--url', env.broker.mqttUrl, '--device', 'laptop', '--username', 'alice'], { MQLIVE_PASSWORD: 'alice-password' });
    // The broker refuses it at connect (its will, offline on devices/laptop/status, is not alice's to leave).
    await p.waitForOutput(/refused user "alice" as device "laptop" \(CONNACK 0x87, not authorized\): .* use --device alice, or a user named "laptop"/, 20_000);
    expect(env.logs.events('will_refused')).toContainEqual(expect.objectContaining({ clientId: 'device-laptop', username: 'alice' }));
    // A refused login will not heal: one line, then the publisher stops with exit code 1 (issue 29, item 8).
    expect(await p.exited).toBe(1);
    expect(count(p.output(), /refused user "alice"/)).toBe(1);
    expect(count(p.output(), /Connected to/)).toBeLessThanOrEqual(1);
    expect(p.output()).not.toMatch(/unreachable/);
  }, 60_000);

  it('a wrong password: one line naming the user and what to check, then exit 1, not a retry for ever (issue 29, item 8)', async () => {
    const env = await broker({ users: (await makeUsers({ alice: 'device' })).data });
    const p = publisher(['--url', env.broker.mqttUrl, '--device', 'alice', '--username', 'alice'], { MQLIVE_PASSWORD: 'wrong' });
    expect(await p.exited).toBe(1);
    expect(p.output().trim().split('\n').filter((l) => /refused the login/.test(l))).toEqual([
      'The broker refused the login of "alice" (CONNACK 0x86, bad user name or password): check --username and MQLIVE_PASSWORD',
    ]);
  }, 60_000);

  it('two publishers with one --device: the one taken over says so, names --device, and stops instead of taking it back (issue 29, item 6)', async () => {
    const env = await broker();
    const first = publisher(['--url', env.broker.mqttUrl, '--device', 'twin'], { MQLIVE_LOG_FORMAT: 'json' });
    await first.waitForEvent('connected', { where: { device: 'twin', protocol: '5' } });
    const second = publisher(['--url', env.broker.mqttUrl, '--device', 'twin'], { MQLIVE_LOG_FORMAT: 'json' });
    await second.waitForEvent('connected', { where: { device: 'twin' } });
    const said = await first.waitForEvent('connection_problem', { where: { reason: 'taken_over' } });
    expect(String(said.msg)).toMatch(/^Another connection took this device's client id at .* \(0x8e Session taken over\): another publisher runs with --device twin; give one of them another --device$/);
    expect(await first.exited).toBe(1);
    // The one that stayed was not knocked off in turn: its connection is the only one the broker took over.
    expect(second.events('connection_problem')).toEqual([]);
    expect(second.hasEnded()).toBe(false);
    expect(env.logs.events('client_taken_over')).toEqual([expect.objectContaining({ clientId: 'device-twin' })]);
    // The device is online: the one taken over left no offline behind.
    const viewer = await env.connect('tcp');
    expect((await retainedOn(viewer, 'devices/twin/status')).map((m) => m.text)).toEqual(['online']);
  }, 60_000);

  it('the help names every URL scheme, mqtts:// included, and --ca', async () => {
    const help = spawnMqlive(['publisher', '--help']);
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/mqtt:\/\/, mqtts:\/\/, ws:\/\/HOST:PORT\/mqtt or wss:\/\/HOST:PORT\/mqtt/);
    expect(help.output()).toMatch(/--ca .*MQLIVE_CA/);
  });

  it('with no X display, --source auto says so in one line and runs the demo', async () => {
    const { broker: b } = await broker();
    const p = publisher(['--url', b.mqttUrl, '--device', 'nodisplay', '--source', 'auto'], { DISPLAY: '' });
    await p.waitForOutput(/Capturing the mouse \(demo/, 15_000);
    const before = p.output().slice(0, p.output().indexOf('Capturing the mouse'));
    expect(before.trim().split('\n')).toEqual([expect.stringMatching(/^Cannot capture with uiohook \(no X display.*\); using the demo source instead\.$/)]);
  });
});

describe('example publisher messages', () => {
  it('with the broker away: one line, not an error every second', async () => {
    const away = await closingServer();
    const p = example(['--url', `mqtt://127.0.0.1:${away.port}`, '--device', 'away1']);
    await p.waitForOutput(/^Broker mqtt:\/\/127\.0\.0\.1:\d+ unreachable; readings wait in a queue until it is back( \(.*\))?$/m, 15_000);
    await expect.poll(away.connections, { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    expect(p.output().trim().split('\n')).toHaveLength(1);

    const refused = example(['--url', `mqtt://127.0.0.1:${await freePort()}`, '--device', 'away2']);
    await refused.waitForOutput(/unreachable; readings wait in a queue until it is back \(connect ECONNREFUSED 127\.0\.0\.1:\d+\)/, 15_000);
    expect(refused.output()).not.toMatch(/MQTT error/);
  });

  it('stops on Ctrl-C with the broker away, saying what it could not send', async () => {
    const p = example(['--url', `mqtt://127.0.0.1:${await freePort()}`, '--device', 'away3', '--every', '100']);
    await p.waitForOutput(/unreachable/, 15_000);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/queued messages? (was|were) not sent: no connection to the broker within 2 s/);
  });
});

describe('--help of the npm scripts', () => {
  for (const script of ['users', 'example:system']) {
    it(`npm run ${script} -- --help prints its usage`, async () => {
      const p = spawnProcess('npm', ['run', '--silent', script, '--', '--help'], {}, { cwd: ROOT });
      expect(await p.exited, p.output()).toBe(0);
      expect(p.output()).toMatch(/^usage: /m);
      expect(p.output()).toMatch(/--file|--device/);
    });
  }
});

describe('make', () => {
  it("make broker with a port in use names the make variable: HTTP_PORT=", async () => {
    const blocker = await closingServer();
    const make = spawnProcess('make', ['-s', 'broker', 'MQTT_PORT=0', `HTTP_PORT=${blocker.port}`], {}, { cwd: ROOT });
    cleanup.push(() => make.stop('SIGKILL'));
    expect(await make.exited).not.toBe(0);
    expect(make.output()).toMatch(new RegExp(`port ${blocker.port} on 127\\.0\\.0\\.1 is already in use: .* choose another with HTTP_PORT=\\d+ \\(free now\\)`));
  }, 120_000);

  it("make up DEVICE='my laptop' hands the id over as one argument, and it is refused with the rule for ids", async () => {
    const make = spawnProcess('make', ['-s', 'up', 'DEVICE=my laptop', 'MQTT_PORT=0', 'HTTP_PORT=0', 'SOURCE=demo'], {}, { cwd: ROOT, detached: true });
    cleanup.push(() => make.stop('SIGKILL'));
    expect(await make.exited).not.toBe(0);
    // Said by mqlive up before it starts anything: a usage error, and no broker was started.
    expect(make.output()).toMatch(/^mqlive up: invalid device id "my laptop": an id may use only letters, digits, '_' and '-'/m);
    expect(make.output()).not.toMatch(/\[broker\]/);
    expect(make.output()).not.toMatch(/unexpected argument/);
  }, 120_000);
});

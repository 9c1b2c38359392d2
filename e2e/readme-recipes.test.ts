import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRecording } from '../protocol/recording';
import { startMosquitto } from '../test-support/mosquitto';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { freePort } from '../test-support/ports';
import { brokerReady, repeatUntil, ROOT, spawnMqlive, spawnProcess, type Spawned } from '../test-support/processes';
import { docFiles } from '../test-support/docs';
import { readmeBlocks, readmeRecipe } from '../test-support/readme';
import { copyRepo } from '../test-support/repo-copy';
import { makeUsers } from '../test-support/security';
import { requireTool } from '../test-support/tools';
import { waitUntilAnswers } from '../test-support/wait';

// Every recipe of the documentation, taken from README.md and docs/*.md as they are now, wherever it stands, and
// run as a user would: in a fresh copy of the repository (node_modules and the viewer build linked in, as after
// `make install build`), against real processes. A block is found by the `<!-- recipe: NAME -->` comment written
// before it; a block a user runs (`sh`, `ts`) that has no such comment, or `<!-- recipe: skip — REASON -->`,
// fails the first test, with its file and line.
//
// Ports: the documentation shows the defaults (1883, 8080, ...); the tests run on free ports. Each recipe's text is
// run with every default port number in it replaced by the free port standing in for it (`withPorts`), and
// nothing else changed. A command that names no port (`make up`, `make broker`, `npm run broker` without port
// flags) gets the free ports through the variables it documents (MQTT_PORT and HTTP_PORT for make,
// MQLIVE_MQTT_PORT and MQLIVE_HTTP_PORT for mqlive). DISPLAY is empty, so `--source auto` runs the demo.
// Long-running commands run in a process group of their own, are checked for what they should show, then stopped.
let dir: string;
const cleanup: (() => unknown)[] = [];

beforeAll(() => {
  dir = copyRepo('mqlive-recipes-', { linkInstalled: true });
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NO_DISPLAY = { DISPLAY: '', WAYLAND_DISPLAY: '' };

/** The recipe's text with each default port replaced by the test's free port for it. */
function withPorts(code: string, ports: Record<number, number>): string {
  return code.replace(/\b\d{4}\b/g, (port) => String(ports[Number(port)] ?? port));
}

/** The commands of a block, one per line (backslash continuations joined), blank lines left out. */
function commands(code: string): string[] {
  return code
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .filter((line) => line.trim() !== '');
}

/** Runs one command line with bash in the copy, in a process group of its own that cleanup stops. */
function sh(line: string, env: Record<string, string | undefined> = {}): Spawned {
  const p = spawnProcess('bash', ['-c', line], { ...NO_DISPLAY, ...env }, { cwd: dir, detached: true });
  cleanup.push(async () => {
    if (p.hasEnded()) return;
    try {
      process.kill(-p.child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-p.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 3000);
    await p.exited;
    clearTimeout(timer);
  });
  return p;
}

/** Resolves with the exit code, or fails with the output when the process has not ended within `timeoutMs`. */
async function exitWithin(p: Spawned, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; output:\n${p.output()}`)), timeoutMs);
  });
  try {
    return await Promise.race([p.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** An mqlive broker on free ports, the one the recipes' 1883 and 8080 stand for. */
async function broker(args: string[] = []) {
  const b = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', ...args]);
  cleanup.push(() => b.stop());
  const ready = await brokerReady(b, 20_000);
  const ports = { 1883: Number(new URL(ready.mqtt).port), 8080: Number(new URL(ready.http).port) };
  return { process: b, ready, ports };
}

async function watch(url: string, filter: string) {
  const client = await connect(url);
  cleanup.push(() => client.end(true));
  const inbox = new Inbox(client);
  await subscribe(client, filter);
  return { client, inbox };
}

/** Waits, bounded, until something accepts TCP connections on the port. */
async function listening(port: number, timeoutMs = 20_000, context?: () => string): Promise<void> {
  const accepts = () =>
    new Promise<void>((resolve, reject) => {
      const socket = tcpConnect(port, '127.0.0.1', () => (socket.destroy(), resolve()));
      socket.on('error', reject);
    });
  await waitUntilAnswers(accepts, `port ${port}`, { attempts: timeoutMs / 200, everyMs: 200, context });
}

/** The recipes this file runs, by the name in their marker. */
const RECIPES = ['quick-start', 'banner', 'publisher', 'sensor', 'device-client', 'any-tool', 'clear-retained', 'mosquitto-conf', 'make-broker', 'users', 'acl', 'tls', 'scale-out', 'record-replay', 'record-replay-mosquitto'];

describe('README and docs/ recipes', () => {
  it('reads README.md and every docs/ page', () => {
    const files = new Set(readmeBlocks().map((b) => b.file));
    expect(files).toContain('README.md');
    for (const page of docFiles().filter((f) => f.startsWith('docs/'))) {
      if (readFileSync(join(ROOT, page), 'utf8').includes('```')) expect(files, page).toContain(page);
    }
  });

  it('every block a user runs is marked as a recipe this file runs, or skipped with a reason', () => {
    const problems: string[] = [];
    for (const block of readmeBlocks()) {
      const runnable = block.lang === 'sh' || block.lang === 'ts';
      if (block.marker === null) {
        if (runnable) problems.push(`${block.file}:${block.line}: a ${block.lang} block with no <!-- recipe: NAME --> or <!-- recipe: skip — REASON --> before it`);
      } else if (block.marker.startsWith('skip')) {
        if (!/^skip\s*[—:-]\s*\S.{10,}/.test(block.marker)) problems.push(`${block.file}:${block.line}: a skip needs its reason: <!-- recipe: skip — REASON -->`);
      } else if (!RECIPES.includes(block.marker)) {
        problems.push(`${block.file}:${block.line}: recipe "${block.marker}" is not run by e2e/readme-recipes.test.ts`);
      }
    }
    for (const name of RECIPES) {
      const marked = readmeBlocks().filter((b) => b.marker === name);
      if (marked.length !== 1) problems.push(`${marked.length} blocks in README.md and docs/*.md are marked <!-- recipe: ${name} --> (expected 1)`);
    }
    expect(problems).toEqual([]);
  });

  it('quick-start and banner: make up prints the banner as shown, serves the viewer and the demo mouse, and stops on Ctrl-C; make test is this suite', async () => {
    const [up, test] = commands(readmeRecipe('quick-start').code);
    expect(test).toMatch(/^make test\b/); // not run here: it is the suite running this test
    const ports = { 1883: await freePort(), 8080: await freePort() };
    // The banner's data folder is the default one, in a home folder of the test's own.
    const home = mkdtempSync(join(tmpdir(), 'mqlive-home-'));
    cleanup.push(async () => rmSync(home, { recursive: true, force: true }));
    const make = sh(up!, { MQTT_PORT: String(ports[1883]), HTTP_PORT: String(ports[8080]), HOME: home, MQLIVE_DATA_DIR: '', XDG_DATA_HOME: '' });
    await make.waitForOutput(/Stop: +Ctrl-C/, 120_000);
    for (const line of withPorts(readmeRecipe('banner').code, ports).split('\n')) expect(make.output()).toContain(line);
    expect((await fetch(`http://127.0.0.1:${ports[8080]}/`)).status).toBe(200);
    const { inbox } = await watch(`mqtt://127.0.0.1:${ports[1883]}`, 'devices/+/meta');
    expect(JSON.parse((await inbox.waitFor(() => true, 15_000)).text)).toMatchObject({ source: 'demo' });
    process.kill(-make.child.pid!, 'SIGINT');
    await exitWithin(make, 15_000);
    expect(make.output()).toContain('mqlive stopped');
  }, 180_000);

  it('publisher: the command as shown connects and announces its device', async () => {
    const { ready, ports } = await broker();
    const { inbox } = await watch(ready.mqtt, 'devices/laptop/#');
    const p = sh(withPorts(readmeRecipe('publisher').code, ports));
    await inbox.waitFor((m) => m.topic === 'devices/laptop/status' && m.text === 'online', 30_000);
    await p.waitForOutput(/Connected to mqtt:\/\/127\.0\.0\.1:\d+ as device "laptop"/, 15_000);
  }, 60_000);

  it('sensor: mosquitto_pub sends a reading, then a retained one that a new subscriber gets', async () => {
    requireTool('mosquitto_pub', 'mosquitto-clients');
    const { ready, ports } = await broker();
    const { inbox } = await watch(ready.mqtt, 'devices/pi/#');
    for (const line of commands(withPorts(readmeRecipe('sensor').code, ports))) expect(await exitWithin(sh(line), 15_000)).toBe(0);
    expect((await inbox.waitForCount('devices/pi/temperature/celsius', 2)).map((m) => m.text)).toEqual(['21.5', '21.5']);
    const late = await watch(ready.mqtt, 'devices/pi/temperature/celsius');
    expect(await late.inbox.waitFor(() => true)).toMatchObject({ text: '21.5', retain: true });
  }, 60_000);

  it('device-client: the snippet, saved as pi.ts and run with npx tsx, sends online, meta and the reading, then offline, and exits', async () => {
    const { ready, ports } = await broker();
    const watcher = await connect(ready.mqtt);
    cleanup.push(() => watcher.end(true));
    const inbox = new Inbox(watcher);
    await subscribe(watcher, 'devices/pi/#');

    writeFileSync(join(dir, 'pi.ts'), withPorts(readmeRecipe('device-client').code, ports));
    const run = spawnProcess('npx', ['tsx', 'pi.ts'], {}, { cwd: dir });
    cleanup.push(() => run.stop('SIGKILL'));
    expect(await exitWithin(run, 30_000), run.output()).toBe(0);
    // All of it arrived before the script ended: the offline is the device's own, not its will.
    // (MQTT orders messages per topic; the QoS 0 reading may pass the QoS 1 meta.)
    const got = inbox.messages.map((m) => `${m.topic} ${m.topic.endsWith('/meta') ? JSON.parse(m.text).kind : m.text}`);
    expect([...got].sort()).toEqual(['devices/pi/meta sensor', 'devices/pi/status offline', 'devices/pi/status online', 'devices/pi/temperature/celsius 21.5']);
    expect(got.filter((m) => m.startsWith('devices/pi/status'))).toEqual(['devices/pi/status online', 'devices/pi/status offline']);
  }, 60_000);

  it('record-replay: record until Ctrl-C, then replay under replay/ at twice the speed', async () => {
    const { ready, ports } = await broker();
    const publisher = spawnMqlive(['publisher', '--url', ready.mqtt, '--device', 'rec', '--source', 'demo']);
    cleanup.push(() => publisher.stop());
    await publisher.waitForOutput(/Connected to .* as device "rec"/, 20_000);
    rmSync(join(dir, 'session.jsonl'), { force: true });
    const [record, replay] = commands(withPorts(readmeRecipe('record-replay').code, ports));
    const recording = sh(record!);
    await expect.poll(() => readFileSync(join(dir, 'session.jsonl'), { encoding: 'utf8', flag: 'a+' }).split('\n').length, { timeout: 30_000 }).toBeGreaterThan(20);
    process.kill(-recording.child.pid!, 'SIGINT');
    await exitWithin(recording, 15_000);
    await publisher.stop();
    const { messages } = parseRecording(readFileSync(join(dir, 'session.jsonl'), 'utf8'));
    const { inbox } = await watch(ready.mqtt, 'replay/#');
    expect(await exitWithin(sh(replay!), 60_000)).toBe(0);
    await inbox.waitFor(() => inbox.messages.length >= messages.length, 20_000, `${messages.length} replayed messages`);
    expect(new Set(inbox.messages.map((m) => m.topic.replace(/^replay\//, '')))).toEqual(new Set(messages.map((m) => m.topic)));
  }, 120_000);

  it('record-replay-mosquitto: a session recorded from mqlive is replayed into Mosquitto, every message in order', async () => {
    const { ready, ports } = await broker();
    const mosquitto = await startMosquitto();
    cleanup.push(() => mosquitto.stop());
    // Something to record: a demo mouse on the mqlive broker.
    const publisher = spawnMqlive(['publisher', '--url', ready.mqtt, '--device', 'recipe', '--source', 'demo']);
    cleanup.push(() => publisher.stop());
    await publisher.waitForOutput(/Connected to .* as device "recipe"/, 20_000);
    const watcher = await connect(`mqtt://127.0.0.1:${mosquitto.mqttPort}`);
    cleanup.push(() => watcher.end(true));
    const inbox = new Inbox(watcher);
    await subscribe(watcher, 'devices/#');

    const code = withPorts(readmeRecipe('record-replay-mosquitto').code, { ...ports, 1884: mosquitto.mqttPort });
    const run = spawnProcess('bash', ['-e', '-c', code], {}, { cwd: dir });
    cleanup.push(() => run.stop('SIGKILL'));
    expect(await exitWithin(run, 120_000), run.output()).toBe(0);

    const { header, messages } = parseRecording(readFileSync(join(dir, 'session.jsonl'), 'utf8'));
    expect(header.filters).toEqual(['devices/#']);
    expect(messages.filter((m) => m.retain).map((m) => `${m.t} ${m.topic}`).sort()).toEqual(['0 devices/recipe/meta', '0 devices/recipe/status']);
    expect(messages.filter((m) => m.topic === 'devices/recipe/mouse/move').length).toBeGreaterThan(50);
    const asText = (topic: string, payload: Uint8Array) => `${topic} ${Buffer.from(payload).toString()}`;
    await inbox.waitFor(() => inbox.messages.length >= messages.length, 20_000, `${messages.length} messages from Mosquitto`);
    expect(inbox.messages.map((m) => `${m.topic} ${m.text}`)).toEqual(messages.map((m) => asText(m.topic, m.payload)));
  }, 180_000);

  it('any-tool: mosquitto_sub and npx mqtt sub print devices/#; mosquitto_pub sends a reply the broker logs', async () => {
    requireTool('mosquitto_sub', 'mosquitto-clients');
    const b = await broker();
    const [mosquittoSub, mosquittoPub, mqttSub] = commands(withPorts(readmeRecipe('any-tool').code, b.ports));
    const subs = [sh(mosquittoSub!), sh(mqttSub!)];
    const publisher = await connect(b.ready.mqtt);
    cleanup.push(() => publisher.end(true));
    const seen = () => subs.every((p) => p.output().includes('devices/anytool/reading 7'));
    await repeatUntil(seen, () => publisher.publishAsync('devices/anytool/reading', '7'), 100, 200);
    expect(subs.map((p) => p.output())).toEqual([expect.stringContaining('devices/anytool/reading 7'), expect.stringContaining('devices/anytool/reading 7')]);
    expect(await exitWithin(sh(mosquittoPub!), 15_000)).toBe(0);
    await b.process.waitForOutput(/From client cli: hi/, 10_000);
  }, 60_000);

  it('clear-retained: mosquitto_pub -r -n clears a retained reading, status and meta; a new subscriber gets none of them', async () => {
    requireTool('mosquitto_pub', 'mosquitto-clients');
    const { ready, ports } = await broker();
    const device = await connect(ready.mqtt);
    cleanup.push(() => device.end(true));
    const meta = JSON.stringify({ name: 'pi', kind: 'sensor', source: 'bme280', screen: null, host: 'pi', version: '1', schema: 1, startedAt: 1 });
    for (const [topic, payload] of [['devices/pi/temperature/celsius', '21.5'], ['devices/pi/status', 'offline'], ['devices/pi/meta', meta]]) {
      await device.publishAsync(topic!, payload!, { qos: 1, retain: true });
    }
    const before = await watch(ready.mqtt, 'devices/pi/#');
    await before.inbox.waitFor(() => before.inbox.messages.length === 3);
    for (const line of commands(withPorts(readmeRecipe('clear-retained').code, ports))) expect(await exitWithin(sh(line), 15_000)).toBe(0);
    await before.inbox.waitFor(() => before.inbox.messages.length === 6); // the three clears, delivered live
    // A marker after the clears: once a new subscriber has it, anything still retained would have come first.
    await device.publishAsync('devices/pi/marker', 'm', { qos: 1, retain: true });
    const after = await watch(ready.mqtt, 'devices/pi/#');
    await after.inbox.waitFor((m) => m.topic === 'devices/pi/marker');
    expect(after.inbox.messages.map((m) => m.topic)).toEqual(['devices/pi/marker']);
  }, 60_000);

  it('mosquitto-conf: Mosquitto with that configuration carries the publisher to a WebSocket subscriber', async () => {
    requireTool('mosquitto', 'mosquitto');
    const ports = { 1883: await freePort(), 9001: await freePort() };
    writeFileSync(join(dir, 'mosquitto.conf'), withPorts(readmeRecipe('mosquitto-conf').code, ports));
    const mosquitto = sh('mosquitto -c mosquitto.conf');
    await listening(ports[1883]);
    await listening(ports[9001]);
    const page = readmeRecipe('mosquitto-conf').file;
    const text = readFileSync(join(ROOT, page), 'utf8');
    const inline = /then `(npm run publisher -- --url mqtt:\/\/127\.0\.0\.1:1883)` and open the viewer with\s+`\?broker=(ws:\/\/127\.0\.0\.1:9001\/mqtt)`/.exec(text);
    expect(inline, `${page} names the publisher command and the viewer URL after mosquitto.conf`).not.toBeNull();
    const { inbox } = await watch(withPorts(inline![2]!, ports), 'devices/+/status');
    sh(withPorts(inline![1]!, ports));
    await inbox.waitFor((m) => m.text === 'online', 30_000);
    expect(mosquitto.hasEnded()).toBe(false);
  }, 60_000);

  it('make-broker: make broker starts the broker, which answers /healthz', async () => {
    const [line] = commands(readmeRecipe('make-broker').code);
    const ports = { 1883: await freePort(), 8080: await freePort() };
    const make = sh(line!, { MQTT_PORT: String(ports[1883]), HTTP_PORT: String(ports[8080]) });
    await make.waitForOutput(new RegExp(`listening: MQTT mqtt://127\\.0\\.0\\.1:${ports[1883]}`), 120_000);
    expect((await fetch(`http://127.0.0.1:${ports[8080]}/healthz`)).status).toBe(200);
  }, 150_000);

  it('users: add (password on stdin), list, remove, then a broker with that file lets the device in and nobody else', async () => {
    rmSync(join(dir, 'users.json'), { force: true });
    const lines = commands(readmeRecipe('users').code);
    const passwords: Record<string, string> = { laptop: 'laptop-secret', alice: 'alice-secret' };
    for (const line of lines.slice(0, 4)) {
      const name = /-- add (\w+)/.exec(line)?.[1];
      // The recipe says the password may come on stdin: the test types it there.
      const p = sh(name ? `printf '%s\\n' '${passwords[name]}' | ${line}` : line);
      expect(await exitWithin(p, 30_000), p.output()).toBe(0);
      if (/-- list/.test(line)) expect(p.output()).toMatch(/laptop[\s\S]*device[\s\S]*alice[\s\S]*viewer|alice[\s\S]*viewer[\s\S]*laptop[\s\S]*device/);
    }
    expect(existsSync(join(dir, 'users.json'))).toBe(true);
    const ports = { mqtt: await freePort(), http: await freePort() };
    const b = sh(lines[4]!, { MQLIVE_MQTT_PORT: String(ports.mqtt), MQLIVE_HTTP_PORT: String(ports.http), MQLIVE_LOG_FORMAT: 'json' });
    await b.waitForOutput(/"event":"ready"/, 60_000);
    const url = `mqtt://127.0.0.1:${ports.mqtt}`;
    const laptop = await connect(url, { username: 'laptop', password: passwords.laptop });
    laptop.end(true);
    await expect(connect(url, { username: 'alice', password: passwords.alice })).rejects.toThrow(/Bad username or password|Not authorized/);
    await expect(connect(url)).rejects.toThrow(/Not authorized/);
  }, 120_000);

  it('acl: the rules as shown refuse the viewer alice devices/secret/#', async () => {
    writeFileSync(join(dir, 'acl.json'), readmeRecipe('acl').code);
    const { file } = await makeUsers({ alice: 'viewer' });
    const { ready } = await broker(['--users', file, '--acl', join(dir, 'acl.json')]);
    const alice = await connect(ready.mqtt, { username: 'alice', password: 'alice-password' });
    cleanup.push(() => alice.end(true));
    expect(await subscribe(alice, ['devices/secret/#', 'devices/pi/#'])).toEqual([128, 1]);
  }, 60_000);

  it('tls: openssl makes the pair; the broker serves mqtts with it and a publisher trusts it with --ca cert.pem', async () => {
    requireTool('openssl', 'openssl');
    rmSync(join(dir, 'cert.pem'), { force: true });
    for (const line of commands(readmeRecipe('tls').code)) expect(await exitWithin(sh(line), 60_000)).toBe(0);
    const mqttsPort = await freePort();
    const { ready } = await broker(['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem'), '--mqtts-port', String(mqttsPort)]);
    expect(ready.mqtts).toBe(`mqtts://127.0.0.1:${mqttsPort}`);
    const p = sh(`npm run publisher -- --url mqtts://127.0.0.1:${mqttsPort} --ca cert.pem --device tlsdev --source demo`);
    await p.waitForOutput(/Connected to mqtts:\/\/127\.0\.0\.1:\d+ as device "tlsdev"/, 30_000);
  }, 90_000);

  it('scale-out: the block as shown runs Redis, two brokers and a publisher on A; a viewer on B sees the device', async () => {
    requireTool('redis-server', 'redis-server');
    const ports: Record<number, number> = {};
    for (const port of [6379, 1883, 1884, 8080, 8081]) ports[port] = await freePort();
    const script = sh(withPorts(readmeRecipe('scale-out').code, ports));
    // Three npm runs at once on a shared 2-core machine: give them time.
    await listening(ports[8081]!, 90_000, script.output);
    const viewer = await waitUntilAnswers(() => watch(`ws://127.0.0.1:${ports[8081]}/mqtt`, 'devices/+/status'), 'the viewer on B', { context: script.output });
    await viewer.inbox.waitFor((m) => m.text === 'online', 60_000);
  }, 120_000);
});

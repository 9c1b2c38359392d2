import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRecording } from '../protocol/recording';
import { startMosquitto } from '../test-support/mosquitto';
import { connect, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, spawnProcess, type Spawned } from '../test-support/processes';
import { readmeRecipe } from '../test-support/readme';
import { copyRepo } from '../test-support/repo-copy';

// Every README recipe, taken from README.md as it is now and run as a user would: in a fresh copy of the
// repository (node_modules and the viewer build linked in, as after `make install build`), against real
// processes. A block is found by the `<!-- recipe: NAME -->` comment written before it.
//
// Ports: the README shows the defaults (1883, 8080, ...); the tests run on free ports. Each recipe's text is
// run with every default port number replaced by the free port standing in for it (`withPorts`), and nothing
// else changed.
let dir: string;
const cleanup: (() => unknown)[] = [];

beforeAll(() => {
  dir = copyRepo('mqlive-recipes-', { linkInstalled: true });
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The recipe's text with each default port replaced by the test's free port for it. */
function withPorts(code: string, ports: Record<number, number>): string {
  return code.replace(/\b\d{4}\b/g, (port) => String(ports[Number(port)] ?? port));
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
async function broker() {
  const b = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json']);
  cleanup.push(() => b.stop());
  const ready = await brokerReady(b, 20_000);
  const ports = { 1883: Number(new URL(ready.mqtt).port), 8080: Number(new URL(ready.http).port) };
  return { process: b, ready, ports };
}

describe('README recipes', () => {
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
    expect(inbox.messages.map((m) => `${m.topic} ${m.topic.endsWith('/meta') ? JSON.parse(m.text).kind : m.text}`)).toEqual([
      'devices/pi/status online',
      'devices/pi/meta sensor',
      'devices/pi/temperature/celsius 21.5',
      'devices/pi/status offline',
    ]);
  }, 60_000);
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
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRecording } from '../protocol/recording';
import { connect, Inbox, RETAINED_MARKER, retainedOn, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, spawnProcess, type Spawned } from '../test-support/processes';

// `mqlive data`, compiled, on the data folder of a compiled broker (a separate process) that ran on it.
let root: string;
const cleanup: (() => unknown)[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'mqlive-data-'));
});
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A broker on `dataDir` (or none), stopped after the test if the test has not stopped it. */
async function startBroker(dataDir: string): Promise<{ process: Spawned; mqtt: string }> {
  const process = spawnMqlive(['broker', '--data-dir', dataDir, '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json']);
  cleanup.push(() => process.stop());
  const ready = await brokerReady(process, 20_000);
  return { process, mqtt: ready.mqtt };
}

async function client(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const c = await connect(url, options);
  cleanup.push(() => c.end(true));
  return c;
}

/** Every retained topic a new subscriber to # gets, but retainedOn's own marker. */
async function retainedTopics(c: MqttClient) {
  return (await retainedOn(c, '#')).filter((m) => m.topic !== RETAINED_MARKER);
}

/** Runs `mqlive data ARGS...` to its end: exit code, and stdout and stderr together. */
async function mqliveData(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; out: string }> {
  const p = spawnMqlive(['data', ...args], env);
  cleanup.push(() => p.stop('SIGKILL'));
  const code = await p.exited;
  return { code, out: p.output() };
}

async function info(dataDir: string): Promise<Record<string, unknown>> {
  const { code, out } = await mqliveData(['--json', '--data-dir', dataDir]);
  expect(code, out).toBe(0);
  return JSON.parse(out) as Record<string, unknown>;
}

const MQTT5 = { protocolVersion: 5 } as const;
const ASK_PROPERTIES = { contentType: 'application/json', responseTopic: 'lab/answer', correlationData: Buffer.from([1, 2, 0xff]), userProperties: { unit: 'mm' } };
const BINARY = Buffer.from([0, 1, 0xff, 0x80]);

describe('mqlive data', () => {
  it('shows, exports (replayable into a fresh broker) and clears what a stopped broker kept; refuses export and clear while it runs', async () => {
    const dataDir = join(root, 'kept');
    const broker = await startBroker(dataDir);
    // Retained: MQTT 3.1.1, MQTT 5 with properties, binary. A persistent session with one queued QoS 1 message.
    const pub = await client(broker.mqtt);
    await pub.publishAsync('devices/laptop/status', 'online', { qos: 1, retain: true });
    await pub.publishAsync('lab/blob', BINARY, { qos: 1, retain: true });
    const pub5 = await client(broker.mqtt, MQTT5);
    await pub5.publishAsync('lab/ask', '{"q":1}', { qos: 1, retain: true, properties: ASK_PROPERTIES });
    const offline = await client(broker.mqtt, { ...MQTT5, clientId: 'offline-sub', clean: false, properties: { sessionExpiryInterval: 3600 } });
    expect(await subscribe(offline, 'queue/#')).toEqual([1]);
    await offline.endAsync();
    await pub.publishAsync('queue/1', 'owed', { qos: 1 });

    // While it runs: where and who, but no counts; export and clear refuse in one line naming its PID.
    const pid = broker.process.child.pid!;
    expect(await info(dataDir)).toMatchObject({ dir: dataDir, store: true, inUse: { pid }, counts: null });
    const out = join(root, 'refused.jsonl');
    const exportWhileRunning = await mqliveData(['export', '--data-dir', dataDir, '--out', out]);
    expect(exportWhileRunning.code).toBe(1);
    expect(exportWhileRunning.out).toMatch(new RegExp(`^mqlive data: the mqlive broker with PID ${pid} has the store in ${dataDir} open: stop it first, then export[^\\n]*\\n$`));
    expect(existsSync(out)).toBe(false);
    const clearWhileRunning = await mqliveData(['clear', '--yes', '--data-dir', dataDir]);
    expect(clearWhileRunning).toEqual({ code: 1, out: `mqlive data: the mqlive broker with PID ${pid} has the store in ${dataDir} open: stop it first, then clear\n` });

    expect(await broker.process.stop('SIGTERM')).toBe(0);
    const counts = { retained: 3, sessions: 1, queued: 1, wills: 0, awaitingPubrel: 0 };
    expect(await info(dataDir)).toMatchObject({ dir: dataDir, store: true, inUse: null, counts });
    const shown = await mqliveData(['--data-dir', dataDir]);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^in use: +no /m);
    expect(shown.out).toMatch(/^retained messages: +3$/m);
    expect(shown.out).toMatch(/^persistent sessions: +1$/m);
    expect(shown.out).toMatch(/^queued messages: +1 /m);

    // Export to a file, and to stdout (the summary then goes to stderr): the same recording.
    const file = join(root, 'retained.jsonl');
    const exported = await mqliveData(['export', '--data-dir', dataDir, '--out', file]);
    expect(exported.code, exported.out).toBe(0);
    const recording = parseRecording(readFileSync(file, 'utf8'));
    expect(recording.header.filters).toEqual(['#']);
    expect(recording.messages.map((m) => [m.topic, Buffer.from(m.payload).toString('hex'), m.qos, m.retain, m.t])).toEqual([
      ['devices/laptop/status', Buffer.from('online').toString('hex'), 1, true, 0],
      ['lab/ask', Buffer.from('{"q":1}').toString('hex'), 1, true, 0],
      ['lab/blob', BINARY.toString('hex'), 1, true, 0],
    ]);
    expect(recording.messages[1]!.properties).toEqual({ ...ASK_PROPERTIES, correlationData: new Uint8Array(ASK_PROPERTIES.correlationData) });
    const toStdout = await mqliveData(['export', '--data-dir', dataDir]);
    expect(toStdout.code).toBe(0);
    const stdoutLines = toStdout.out.split('\n').filter((line) => line.startsWith('{'));
    expect(parseRecording(stdoutLines.join('\n')).messages).toEqual(recording.messages);

    // mqlive replay publishes it to a fresh broker: a subscriber there gets the same retained messages.
    const fresh = await startBroker('none');
    const replay = spawnMqlive(['replay', '--in', file, '--url', fresh.mqtt, '--speed', '0']);
    cleanup.push(() => replay.stop('SIGKILL'));
    expect(await replay.exited, replay.output()).toBe(0);
    const viewer = await client(fresh.mqtt, MQTT5);
    const got = await retainedTopics(viewer);
    expect(got.map((m) => [m.topic, m.text, m.qos]).sort()).toEqual([
      ['devices/laptop/status', 'online', 1],
      ['lab/ask', '{"q":1}', 1],
      ['lab/blob', BINARY.toString(), 1],
    ]);
    expect(got.find((m) => m.topic === 'lab/ask')!.properties).toMatchObject(ASK_PROPERTIES);

    // Clear: not without --yes off a terminal; with it, everything goes, and a broker starting on it finds nothing.
    const unconfirmed = await mqliveData(['clear', '--data-dir', dataDir]);
    expect(unconfirmed).toEqual({ code: 2, out: `mqlive data: refusing to delete 3 retained messages, 1 persistent session and 1 queued message from ${dataDir} without confirmation (stdin is not a terminal): add --yes\n` });
    expect(await info(dataDir)).toMatchObject({ counts });
    const cleared = await mqliveData(['clear', '--yes', '--data-dir', dataDir]);
    expect(cleared).toEqual({ code: 0, out: `cleared ${dataDir}: deleted 3 retained messages, 1 persistent session and 1 queued message\n` });
    expect(await info(dataDir)).toMatchObject({ counts: { retained: 0, sessions: 0, queued: 0, wills: 0, awaitingPubrel: 0 } });

    const again = await startBroker(dataDir);
    const late = await client(again.mqtt);
    expect(await retainedTopics(late)).toEqual([]);
    // No session to resume: the CONNACK says so, and nothing queued comes (the barrier is published after the connect).
    const returning = mqtt.connect(again.mqtt, { ...MQTT5, reconnectPeriod: 0, clientId: 'offline-sub', clean: false, properties: { sessionExpiryInterval: 3600 } });
    cleanup.push(() => returning.end(true));
    const inbox = new Inbox(returning);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      returning.once('connect', resolve);
      returning.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(false);
    await subscribe(returning, 'barrier/after');
    await late.publishAsync('barrier/after', 'x', { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'barrier/after');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['barrier/after']);
  });

  it('clear asks on a terminal: anything but yes keeps everything', async () => {
    const dataDir = join(root, 'asked');
    const broker = await startBroker(dataDir);
    const pub = await client(broker.mqtt);
    await pub.publishAsync('lab/kept', 'yes', { qos: 1, retain: true });
    expect(await broker.process.stop('SIGTERM')).toBe(0);

    // `script` gives the command a terminal; what is written to its stdin is typed there.
    const answer = async (typed: string) => {
      const p = spawnProcess('script', ['-qec', `${JSON.stringify(process.execPath)} dist/mqlive.js data clear --data-dir ${JSON.stringify(dataDir)}`, '/dev/null'], {}, { stdin: 'pipe' });
      cleanup.push(() => p.stop('SIGKILL'));
      await p.waitForOutput(/delete 1 retained message from .* \[y\/N\] /);
      p.child.stdin!.write(`${typed}\r`);
      return { code: await p.exited, out: p.output() };
    };
    const declined = await answer('n');
    expect(declined.code, declined.out).toBe(1);
    expect(declined.out).toMatch(/^nothing deleted\r?$/m);
    expect(await info(dataDir)).toMatchObject({ counts: { retained: 1 } });
    const confirmed = await answer('y');
    expect(confirmed.code, confirmed.out).toBe(0);
    expect(await info(dataDir)).toMatchObject({ counts: { retained: 0 } });
  });

  it('--data-dir none, and a folder without a store, are each said in one line', async () => {
    for (const sub of [[], ['export'], ['clear', '--yes']]) {
      // MQLIVE_DATA_DIR=none (this suite's setting) and the flag alike.
      for (const args of [[...sub], [...sub, '--data-dir', 'none']]) {
        const result = await mqliveData(args, { MQLIVE_DATA_DIR: 'none' });
        expect(result, args.join(' ')).toEqual({ code: 2, out: 'mqlive data: the data folder is none (--data-dir or MQLIVE_DATA_DIR): such a broker keeps nothing on disk; name the folder a broker uses with --data-dir DIR\n' });
      }
    }
    const empty = join(root, 'never-used');
    const shown = await mqliveData(['--data-dir', empty]);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^store: +none yet /m);
    const exported = await mqliveData(['export', '--data-dir', empty]);
    expect(exported).toEqual({ code: 1, out: `mqlive data: no store in ${empty} yet: nothing to export (a broker started with --data-dir ${empty} makes one)\n` });
    expect(await mqliveData(['clear', '--data-dir', empty])).toEqual({ code: 0, out: `no store in ${empty}: nothing to clear\n` });
    // Looking created nothing.
    expect(existsSync(empty)).toBe(false);
    // A flag of another subcommand, or an unknown one, is a usage error.
    expect(await mqliveData(['export', '--yes', '--data-dir', empty])).toEqual({ code: 2, out: 'mqlive data: --yes goes with mqlive data clear, not export\n' });
    expect((await mqliveData(['wipe', '--data-dir', empty])).code).toBe(2);
  });
});

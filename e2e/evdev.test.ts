import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { spawnMqlive, spawnProcess, type Spawned } from '../test-support/processes';
import { requireTool } from '../test-support/tools';

// `--source evdev` end to end. These machines have no /dev/input and no /dev/uinput, so a named pipe stands in
// for the kernel device: the test writes `struct input_event` records (24-byte layout, built field by field
// here) into it, and Debian's mosquitto_sub shows what the publisher made of them on a real broker.
let env: Awaited<ReturnType<typeof startTestBroker>>;
let dir: string;
let fifo: string;
let publisher: Spawned;
let sub: Spawned;
let writer: WriteStream;

const EV = { SYN: 0, KEY: 1, REL: 2 };
const REL = { X: 0, Y: 1, HWHEEL: 6, WHEEL: 8, WHEEL_HI_RES: 11 };
const BTN = { LEFT: 0x110, RIGHT: 0x111, SIDE: 0x113 };
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** One record, stamped `T0 + ms`. */
function record(type: number, code: number, value: number, ms = 0): Buffer {
  const at = T0 + ms;
  const b = Buffer.alloc(24);
  b.writeBigInt64LE(BigInt(Math.floor(at / 1000)), 0);
  b.writeBigInt64LE(BigInt((at % 1000) * 1000 + 17), 8);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(code, 18);
  b.writeInt32LE(value, 20);
  return b;
}
/** A frame: the records, then SYN_REPORT. */
const frame = (ms: number, ...events: [number, number, number][]) => Buffer.concat([...events.map(([t, c, v]) => record(t, c, v, ms)), record(EV.SYN, 0, 0, ms)]);

/** Opens the FIFO for writing: resolves once the publisher has it open for reading. */
function openWriter(): Promise<WriteStream> {
  const stream = createWriteStream(fifo);
  return new Promise((resolve, reject) => stream.once('open', () => resolve(stream)).once('error', reject));
}

/** mosquitto_sub -v lines for devices/fifo/..., parsed. */
function received(kind: string): Record<string, unknown>[] {
  return sub
    .output()
    .split('\n')
    .filter((line) => line.startsWith(`devices/fifo/${kind} `))
    .map((line) => JSON.parse(line.slice(line.indexOf(' ') + 1)));
}

beforeAll(async () => {
  requireTool('mosquitto_sub', 'mosquitto-clients');
  requireTool('mkfifo', 'coreutils');
  env = await startTestBroker();
  dir = mkdtempSync(join(tmpdir(), 'mqlive-evdev-'));
  fifo = join(dir, 'mouse.fifo');
  execFileSync('mkfifo', [fifo]);
  publisher = spawnMqlive(['publisher', 
    ...['--url', env.broker.mqttUrl, '--device', 'fifo', '--move-hz', '0'],
    ...['--source', 'evdev', '--evdev-device', fifo, '--screen', '800x600', '--log-format', 'json'],
  ]);
  await publisher.waitForEvent('connected', { where: { device: 'fifo', source: 'evdev' } });
  sub = spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(env.broker.mqttPort), '-t', 'devices/#', '-v']);
  await sub.waitForOutput(/^devices\/fifo\/meta /m); // retained: mosquitto_sub is subscribed
  writer = await openWriter();
}, 60_000);

afterAll(async () => {
  writer?.destroy();
  await publisher?.stop('SIGTERM');
  await sub?.stop('SIGTERM');
  await env?.broker.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('--source evdev through a named pipe', () => {
  it('announces evdev with the --screen size in meta', () => {
    expect(received('meta')[0]).toMatchObject({ source: 'evdev', kind: 'mouse', screen: { width: 800, height: 600 }, screenFrom: 'flag', capture: { running: true } });
  });

  it('turns records into moves, clicks and scrolls with the right coordinates, buttons and signs', async () => {
    writer.write(
      Buffer.concat([
        frame(0, [EV.REL, REL.X, -100], [EV.REL, REL.Y, 50]), // from the centre (400, 300) to (300, 350)
        frame(1, [EV.KEY, BTN.LEFT, 1]),
        frame(2, [EV.KEY, BTN.LEFT, 0]),
        frame(3, [EV.REL, REL.WHEEL, 1]), // up
        frame(4, [EV.REL, REL.HWHEEL, -1]), // left
        frame(5, [EV.REL, REL.WHEEL_HI_RES, -120], [EV.REL, REL.WHEEL, -1]), // one notch down, counted once
        frame(6, [EV.REL, REL.X, 10_000], [EV.KEY, BTN.RIGHT, 1]), // clamped to the right edge, then pressed there
        frame(7, [EV.KEY, BTN.SIDE, 1]),
      ]),
    );
    await sub.waitForOutput(/"button":"back"/);
    const strip = ({ ts: _ts, seq: _seq, ...rest }: Record<string, unknown>) => rest;
    expect(received('mouse/move').map(strip)).toEqual([
      { x: 300, y: 350 },
      { x: 799, y: 350 },
    ]);
    expect(received('mouse/click').map(strip)).toEqual([
      { x: 300, y: 350, button: 'left', pressed: true },
      { x: 300, y: 350, button: 'left', pressed: false },
      { x: 799, y: 350, button: 'right', pressed: true },
      { x: 799, y: 350, button: 'back', pressed: true },
    ]);
    expect(received('mouse/scroll').map(strip)).toEqual([
      { x: 300, y: 350, dx: 0, dy: 1 },
      { x: 300, y: 350, dx: -1, dy: 0 },
      { x: 300, y: 350, dx: 0, dy: -1 },
    ]);
    // ts is the kernel's stamp of the record; seq numbers all of them in order.
    expect(received('mouse/move')[0]!.ts).toBe(T0);
    expect(received('mouse/click')[3]!.ts).toBe(T0 + 7);
    const seqs = ['move', 'click', 'scroll'].flatMap((k) => received(`mouse/${k}`).map((e) => e.seq as number)).sort((a, b) => a - b);
    expect(seqs).toEqual([...Array(9).keys()]);
  });

  it('recovers when the pipe closes and a writer comes back, with meta saying so meanwhile', async () => {
    writer.end();
    expect((await publisher.waitForEvent('capture_stopped')).problem).toMatch(/^evdev: .*mouse\.fifo went away \(it closed\); trying again in 1 s$/);
    await sub.waitForOutput(/devices\/fifo\/meta .*"capture":\{"running":false,"problem":"evdev: [^"]*went away/);
    writer = await openWriter(); // blocks until the publisher opens the pipe again
    await publisher.waitForEvent('capture_running', { where: { source: 'evdev' } });
    // The meta that says so goes out before the move below is even written: it comes first.
    await sub.waitForOutput(/devices\/fifo\/meta .*"capture":\{"running":true,"problem":null\}.*"screenFrom":"flag"/);
    writer.write(frame(100, [EV.REL, REL.Y, -1000])); // to the top edge
    await sub.waitForOutput(/devices\/fifo\/mouse\/move \{"x":799,"y":0,/);
  });

  it('stops on SIGTERM while its pipe has no writer (an open that waits for one must not hold the process)', async () => {
    const lonely = join(dir, 'lonely.fifo');
    execFileSync('mkfifo', [lonely]);
    const p = spawnMqlive(['publisher', '--url', env.broker.mqttUrl, '--device', 'lonely', '--source', 'evdev', '--evdev-device', lonely, '--screen', '800x600', '--log-format', 'json']);
    await p.waitForEvent('connected', { where: { device: 'lonely', source: 'evdev' } });
    // stop() sends SIGKILL if SIGTERM has not ended it within 5 s: that would be the hang, reported as SIGKILL.
    expect(await p.stop('SIGTERM', 5000)).toBe(0);
  });
});

describe('publisher CLI and the registry', () => {
  it('--help lists every source from the registry', async () => {
    const p = spawnMqlive(['publisher', '--help']);
    expect(await p.exited).toBe(0);
    for (const name of ['auto', 'uiohook', 'evdev', 'demo']) expect(p.output()).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(p.output()).toMatch(/--evdev-device/);
  });

  it('an unknown --source is one line listing the valid names, exit code 2', async () => {
    const p = spawnMqlive(['publisher', '--source', 'x11']);
    expect(await p.exited).toBe(2);
    expect(p.output().trim()).toBe('mqlive publisher: --source must be one of auto, uiohook, evdev, demo, replay:FILE (got "x11")');
    // Run by make (make up SOURCE=..., make publisher SOURCE=...), the line names the make variable.
    const viaMake = spawnMqlive(['publisher', '--source', 'x11'], { MQLIVE_VIA_MAKE: '1' });
    expect(await viaMake.exited).toBe(2);
    expect(viaMake.output().trim()).toBe('mqlive publisher: SOURCE must be one of auto, uiohook, evdev, demo, replay:FILE (got "x11")');
  });
});

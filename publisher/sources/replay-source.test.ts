import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeHeader, encodeMessage } from '../../protocol/recording';
import { readMouseEvents, ReplaySource } from './replay-source';
import { SourceFlagError, type MouseInput, type SourceContext } from './source';

const dir = mkdtempSync(join(tmpdir(), 'mqlive-replay-source-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function recording(name: string, messages: [number, string, unknown][]): string {
  const file = join(dir, name);
  const lines = messages.map(([t, topic, payload]) =>
    encodeMessage({ t, topic, payload: new TextEncoder().encode(typeof payload === 'string' ? payload : JSON.stringify(payload)), qos: 1, retain: false }),
  );
  writeFileSync(file, [encodeHeader({ startedAt: 1, broker: 'mqtt://x', filters: ['#'] }), ...lines, ''].join('\n'));
  return file;
}

const context = (lines: string[] = []): SourceContext => ({
  platform: 'linux',
  env: {},
  say: (line) => lines.push(line),
  run: async () => '',
  probeX11: async () => Promise.reject(new Error('no X')),
});

describe('--source replay:FILE', () => {
  it("reads the first device's mouse events with their offsets, its recorded screen, and skips what the contract refuses", async () => {
    const file = recording('two.jsonl', [
      [0, 'devices/a/meta', { name: 'a', kind: 'mouse', source: 'uiohook', screen: { width: 800, height: 600 }, host: 'h', version: '1', schema: 1, startedAt: 1 }],
      [100, 'devices/a/mouse/move', { x: 1, y: 2, ts: 5, seq: 7 }],
      [110, 'devices/b/mouse/move', { x: 9, y: 9, ts: 5, seq: 0 }],
      [150, 'devices/a/mouse/click', { x: 1, y: 2, button: 'right', pressed: true, ts: 6, seq: 8 }],
      [160, 'devices/a/mouse/move', { x: 'bad', y: 2, ts: 6, seq: 9 }],
      [180, 'lab/other', 'free-form'],
      [200, 'devices/a/mouse/scroll', { x: 1, y: 2, dx: 0, dy: -1, ts: 7, seq: 10 }],
    ]);
    const { events, screen, devices } = await readMouseEvents(file);
    expect(devices).toEqual(['a', 'b']);
    expect(screen).toEqual({ width: 800, height: 600 });
    expect(events).toEqual([
      { at: 0, input: { type: 'move', x: 1, y: 2 } },
      { at: 50, input: { type: 'button', x: 1, y: 2, button: 'right', pressed: true } },
      { at: 100, input: { type: 'wheel', x: 1, y: 2, dx: 0, dy: -1 } },
    ]);
    const lines: string[] = [];
    const source = await ReplaySource.open(context(lines), {}, file);
    expect(source.kind).toBe('replay');
    expect(lines).toEqual([`${file} has mouse events of a, b; replaying a's`, `Replaying 3 mouse events of a (0.1 s) from ${file}`]);
  });

  it('plays them in order with a new ts, then says the recording has ended', async () => {
    const file = recording('one.jsonl', [
      [0, 'devices/a/mouse/move', { x: 1, y: 2, ts: 5, seq: 0 }],
      [20, 'devices/a/mouse/click', { x: 3, y: 4, button: 'left', pressed: true, ts: 6, seq: 1 }],
      [40, 'devices/a/mouse/click', { x: 3, y: 4, button: 'left', pressed: false, ts: 7, seq: 2 }],
    ]);
    const source = await ReplaySource.open(context(), {}, file);
    const inputs: MouseInput[] = [];
    const ended = new Promise<string>((resolve) => void source.start({ onInput: (i) => inputs.push(i), onCaptureState: (running, message) => !running && resolve(message) }));
    const before = Date.now();
    expect(await ended).toBe('The recording has ended (3 mouse events replayed)');
    await source.stop();
    expect(inputs.map((i) => i.type)).toEqual(['move', 'button', 'button']);
    expect(inputs.every((i) => i.ts >= before - 50 && i.ts > 1_000_000)).toBe(true);
  });

  it('with --loop starts over at the end, with the same spacing', async () => {
    const file = recording('loop.jsonl', [
      [0, 'devices/a/mouse/click', { x: 1, y: 1, button: 'left', pressed: true, ts: 6, seq: 0 }],
      [10, 'devices/a/mouse/click', { x: 1, y: 1, button: 'left', pressed: false, ts: 7, seq: 1 }],
    ]);
    const source = await ReplaySource.open(context(), { loop: true }, file);
    const inputs: MouseInput[] = [];
    const states: boolean[] = [];
    const sixth = new Promise<void>((resolve) =>
      void source.start({
        onInput: (i) => inputs.push(i) >= 6 && resolve(),
        onCaptureState: (running) => states.push(running),
      }),
    );
    await sixth;
    await source.stop();
    expect(inputs.slice(0, 6).map((i) => (i.type === 'button' ? i.pressed : null))).toEqual([true, false, true, false, true, false]);
    expect(states).toEqual([]); // a loop never ends by itself
  });

  it('refuses a missing file, a file without mouse events and a broken line, each in one line', async () => {
    await expect(ReplaySource.open(context(), {}, undefined)).rejects.toThrow('--source replay needs a recording: --source replay:FILE');
    await expect(ReplaySource.open(context(), {}, join(dir, 'nope.jsonl'))).rejects.toThrow(/cannot read .*nope\.jsonl: ENOENT/);
    const empty = recording('empty.jsonl', [[0, 'lab/x', 'y']]);
    await expect(ReplaySource.open(context(), {}, empty)).rejects.toThrow(SourceFlagError);
    await expect(ReplaySource.open(context(), {}, empty)).rejects.toThrow(/has no mouse events/);
    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, `${encodeHeader({ startedAt: 1, broker: 'x', filters: [] })}\n{"t":1,"topic":"devices/a/mo`);
    await expect(ReplaySource.open(context(), {}, broken)).rejects.toThrow(`--source replay: ${broken} line 2: not valid JSON`);
  });
});

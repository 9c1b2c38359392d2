import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
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

  describe('bounded (issue 26)', () => {
    afterEach(() => vi.restoreAllMocks());
    const move = (x: number) => ({ x, y: 2, ts: 5, seq: x });

    it('refuses a time beyond 366 days naming its line (a t of 1e13 spun a 1 ms timer loop)', async () => {
      const file = recording('far.jsonl', [
        [0, 'devices/a/mouse/move', move(1)],
        [1e13, 'devices/a/mouse/move', move(2)],
      ]);
      await expect(ReplaySource.open(context(), {}, file)).rejects.toThrow(`--source replay: ${file} line 3: "t" must be a number of milliseconds from 0 to 31622400000 (366 days)`);
    });

    it("arms no timer beyond Node's limit (2^31-1 ms; a longer one fires after 1 ms): a wait of 30 days is armed in parts", async () => {
      const file = recording('month.jsonl', [
        [0, 'devices/a/mouse/move', move(1)],
        [30 * 24 * 3600 * 1000, 'devices/a/mouse/move', move(2)],
      ]);
      const source = await ReplaySource.open(context(), {}, file);
      const delays: number[] = [];
      const realSetTimeout = globalThis.setTimeout;
      vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
        delays.push(ms ?? 0);
        return realSetTimeout(fn, Math.min(ms ?? 0, 2 ** 31 - 1));
      }) as typeof setTimeout);
      const inputs: MouseInput[] = [];
      await source.start({ onInput: (i) => inputs.push(i), onCaptureState: () => {} });
      await source.stop();
      expect(inputs).toHaveLength(1);
      expect(delays.length).toBeGreaterThan(0);
      expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
    });

    it('reads a recording of many devices in one pass, naming the first few: 3,000 devices with a meta and a move each', async () => {
      const messages: [number, string, unknown][] = [];
      const meta = (n: number) => ({ name: `d${n}`, kind: 'mouse', source: 'uiohook', screen: { width: 100 + n, height: 600 }, host: 'h', version: '1', schema: 1, startedAt: 1 });
      for (let n = 0; n < 3000; n++) messages.push([n, `devices/d${n}/meta`, meta(n)], [n, `devices/d${n}/mouse/move`, move(n)]);
      messages.push([4000, 'devices/d0/meta', meta(7)]);
      const file = recording('many.jsonl', messages);
      const { events, screen, devices, moreDevices } = await readMouseEvents(file);
      expect(events).toEqual([{ at: 0, input: { type: 'move', x: 0, y: 2 } }]);
      // The last meta of the replayed device gives its screen.
      expect(screen).toEqual({ width: 107, height: 600 });
      expect({ devices, moreDevices }).toEqual({ devices: ['d0', 'd1', 'd2', 'd3', 'd4'], moreDevices: true });
      const lines: string[] = [];
      await ReplaySource.open(context(lines), {}, file);
      expect(lines[0]).toBe(`${file} has mouse events of d0, d1, d2, d3, d4 and more; replaying d0's`);
    });

    it('refuses a line longer than 1 MiB naming it, without reading it whole; --max-line-bytes takes a longer one', async () => {
      const file = join(dir, 'long.jsonl');
      const long = encodeMessage({ t: 5, topic: 'devices/a/mouse/move', payload: new TextEncoder().encode(JSON.stringify({ ...move(1), pad: 'x'.repeat(1_200_000) })), qos: 0, retain: false });
      const first = encodeMessage({ t: 0, topic: 'devices/a/mouse/move', payload: new TextEncoder().encode(JSON.stringify(move(0))), qos: 0, retain: false });
      writeFileSync(file, [encodeHeader({ startedAt: 1, broker: 'x', filters: ['#'] }), first, long, ''].join('\n'));
      await expect(ReplaySource.open(context(), {}, file)).rejects.toThrow(`--source replay: ${file} line 3: longer than 1048576 bytes, the most a line may hold (--max-line-bytes raises it)`);
      // Taken with a higher limit.
      const source = await ReplaySource.open(context(), { 'max-line-bytes': '2000000' }, file);
      expect(source.events.map((e) => e.at)).toEqual([0, 5]);
      await expect(ReplaySource.open(context(), { 'max-line-bytes': '0' }, file)).rejects.toThrow('--max-line-bytes must be a whole number of at least 1 (got "0")');
    });

    it('a payload nested 30,000 deep on a mouse topic is skipped like any payload the contract refuses (the validator must not overflow)', async () => {
      const deep = (field: string) => `{"${field}":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
      const file = recording('deep.jsonl', [
        [0, 'devices/a/mouse/move', move(1)],
        [1, 'devices/a/mouse/move', deep('x')],
        [2, 'devices/a/mouse/click', deep('button')],
        [3, 'devices/a/meta', deep('name')],
        [4, 'devices/a/mouse/move', move(2)],
      ]);
      const { events } = await readMouseEvents(file);
      expect(events.map((e) => e.at)).toEqual([0, 4]);
    });
  });
});

import { describe, expect, it } from 'vitest';
import { record32, record64, TS_MS } from '../../test-support/evdev';
import { FrameDecoder, KeyboardStreamError, LAYOUT_32, LAYOUT_64, layoutFor, Pointer, RecordReader, type InputRecord } from './evdev-events';

// Records are built by test-support/evdev.ts from linux/input.h's layout, field by field, not with the code under test.
// Codes from linux/input-event-codes.h, written out here on purpose.
const EV = { SYN: 0, KEY: 1, REL: 2, ABS: 3 };
const SYN = [EV.SYN, 0, 0] as const;
const rel = (code: number, value: number) => [EV.REL, code, value] as const;
const abs = (code: number, value: number) => [EV.ABS, code, value] as const;
const key = (code: number, value: number) => [EV.KEY, code, value] as const;
const REL = { X: 0, Y: 1, HWHEEL: 6, WHEEL: 8, WHEEL_HI_RES: 11, HWHEEL_HI_RES: 12 };
const BTN = { LEFT: 0x110, RIGHT: 0x111, MIDDLE: 0x112, SIDE: 0x113, EXTRA: 0x114 };

type Triple = readonly [number, number, number];

function decoderFor(width = 800, height = 600, absRange = { x: { min: 0, max: 32767 }, y: { min: 0, max: 32767 } }) {
  const pointer = new Pointer({ width, height });
  const decoder = new FrameDecoder(pointer, { absRange });
  const reader = new RecordReader(LAYOUT_64);
  /** Feeds records as the kernel writes them; returns every input they make. */
  const feed = (...records: Triple[]) => reader.push(Buffer.concat(records.map((r) => record64(...r)))).flatMap((r) => decoder.push(r));
  return { pointer, feed };
}

describe('struct input_event decoding', () => {
  it('reads the 24-byte layout of 64-bit systems', () => {
    const records = new RecordReader(LAYOUT_64).push(Buffer.concat([record64(EV.REL, REL.X, -5), record64(EV.KEY, BTN.LEFT, 1)]));
    expect(records).toEqual<InputRecord[]>([
      { ts: TS_MS, type: EV.REL, code: REL.X, value: -5 },
      { ts: TS_MS, type: EV.KEY, code: BTN.LEFT, value: 1 },
    ]);
  });

  it('reads the 16-byte layout of 32-bit ARM (32-bit Raspberry Pi OS)', () => {
    const records = new RecordReader(LAYOUT_32).push(Buffer.concat([record32(EV.REL, REL.Y, 7), record32(EV.SYN, 0, 0)]));
    expect(records).toEqual<InputRecord[]>([
      { ts: TS_MS, type: EV.REL, code: REL.Y, value: 7 },
      { ts: TS_MS, type: EV.SYN, code: 0, value: 0 },
    ]);
  });

  it('picks the layout from the architecture', () => {
    expect(layoutFor('x64')).toEqual(LAYOUT_64);
    expect(layoutFor('arm64')).toEqual(LAYOUT_64);
    expect(layoutFor('arm')).toEqual(LAYOUT_32);
    expect(layoutFor('ia32')).toEqual(LAYOUT_32);
  });

  it('keeps a record split across reads until its rest arrives', () => {
    const reader = new RecordReader(LAYOUT_64);
    const bytes = Buffer.concat([record64(EV.REL, REL.X, 3), record64(EV.SYN, 0, 0)]);
    expect(reader.push(bytes.subarray(0, 30))).toHaveLength(1);
    expect(reader.push(bytes.subarray(30, 40))).toHaveLength(0);
    expect(reader.push(bytes.subarray(40))).toEqual([{ ts: TS_MS, type: EV.SYN, code: 0, value: 0 }]);
  });
});

describe('evdev frames to mouse input', () => {
  it('applies nothing before SYN_REPORT, then the whole frame at once', () => {
    const { feed } = decoderFor();
    expect(feed(rel(REL.X, 10), rel(REL.Y, -20), rel(REL.X, 5))).toEqual([]);
    expect(feed(SYN)).toEqual([{ type: 'move', x: 415, y: 280, ts: TS_MS }]);
  });

  it('stamps a record that carries no time (all zero) with the time of reading', () => {
    const pointer = new Pointer({ width: 800, height: 600 });
    const decoder = new FrameDecoder(pointer, { absRange: { x: { min: 0, max: 1 }, y: { min: 0, max: 1 } } });
    const records = new RecordReader(LAYOUT_64).push(Buffer.concat([record64(EV.REL, REL.X, 1, 0, 0), record64(EV.SYN, 0, 0, 0, 0)]));
    const before = Date.now();
    const [move] = records.flatMap((r) => decoder.push(r));
    expect(move!.ts).toBeGreaterThanOrEqual(before);
  });

  it('integrates relative motion from the screen centre and clamps it to the screen', () => {
    const { feed } = decoderFor(800, 600);
    expect(feed(rel(REL.X, -10_000), rel(REL.Y, -10_000), SYN)).toEqual([{ type: 'move', x: 0, y: 0, ts: TS_MS }]);
    expect(feed(rel(REL.X, 10_000), rel(REL.Y, 10_000), SYN)).toEqual([{ type: 'move', x: 799, y: 599, ts: TS_MS }]);
    expect(feed(rel(REL.X, 5), SYN)).toEqual([]); // pinned at the edge: no move
    expect(feed(rel(REL.X, -9), SYN)).toEqual([{ type: 'move', x: 790, y: 599, ts: TS_MS }]);
  });

  it('scales an absolute device from its axis ranges', () => {
    const { feed } = decoderFor(801, 601, { x: { min: 0, max: 1000 }, y: { min: 100, max: 300 } });
    expect(feed(abs(0, 250), abs(1, 150), SYN)).toEqual([{ type: 'move', x: 200, y: 150, ts: TS_MS }]);
    expect(feed(abs(0, 1000), SYN)).toEqual([{ type: 'move', x: 800, y: 150, ts: TS_MS }]); // one axis: the other stays
    expect(feed(abs(0, 0), abs(1, 100), SYN)).toEqual([{ type: 'move', x: 0, y: 0, ts: TS_MS }]);
    // Beyond the range given, the range widens rather than the pointer leaving the screen.
    expect(feed(abs(0, 2000), SYN)).toEqual([{ type: 'move', x: 800, y: 0, ts: TS_MS }]);
  });

  it('maps BTN_LEFT, RIGHT, MIDDLE, SIDE and EXTRA to left, right, middle, back and forward, at the frame position', () => {
    const { feed } = decoderFor();
    const pressed = feed(rel(REL.X, 1), key(BTN.LEFT, 1), key(BTN.RIGHT, 1), key(BTN.MIDDLE, 1), key(BTN.SIDE, 1), key(BTN.EXTRA, 1), SYN);
    expect(pressed[0]).toEqual({ type: 'move', x: 401, y: 300, ts: TS_MS });
    expect(pressed.slice(1)).toEqual(
      ['left', 'right', 'middle', 'back', 'forward'].map((button) => ({ type: 'button', x: 401, y: 300, button, pressed: true, ts: TS_MS })),
    );
    expect(feed(key(BTN.LEFT, 0), SYN)).toEqual([{ type: 'button', x: 401, y: 300, button: 'left', pressed: false, ts: TS_MS }]);
    expect(feed(key(BTN.LEFT, 2), SYN)).toEqual([]); // autorepeat is no new press
    expect(feed(key(0x118, 1), SYN)).toEqual([]); // BTN_TASK: no contract name
  });

  it('turns wheel clicks into one scroll per notch with the contract signs (dy > 0 up, dx > 0 right)', () => {
    const { feed } = decoderFor();
    const scrolls = (inputs: ReturnType<typeof feed>) => inputs.map((i) => (i.type === 'wheel' ? [i.dx, i.dy] : i.type));
    expect(scrolls(feed(rel(REL.WHEEL, 1), SYN))).toEqual([[0, 1]]); // kernel: positive is away from the user, up
    expect(scrolls(feed(rel(REL.WHEEL, -2), SYN))).toEqual([
      [0, -1],
      [0, -1],
    ]);
    expect(scrolls(feed(rel(REL.HWHEEL, 1), SYN))).toEqual([[1, 0]]);
    expect(scrolls(feed(rel(REL.HWHEEL, -1), SYN))).toEqual([[-1, 0]]);
  });

  it('counts a hi-res wheel once: 120 units a notch, the legacy event beside it ignored, a half notch kept for later', () => {
    const { feed } = decoderFor();
    const dys = (inputs: ReturnType<typeof feed>) => inputs.flatMap((i) => (i.type === 'wheel' ? [i.dy] : []));
    // A hi-res mouse sends both for a full notch.
    expect(dys(feed(rel(REL.WHEEL_HI_RES, 120), rel(REL.WHEEL, 1), SYN))).toEqual([1]);
    expect(dys(feed(rel(REL.WHEEL, 1), rel(REL.WHEEL_HI_RES, 120), SYN))).toEqual([1]); // either order
    // Half notches: nothing, then one notch when the second half comes (with the legacy event).
    expect(dys(feed(rel(REL.WHEEL_HI_RES, -60), SYN))).toEqual([]);
    expect(dys(feed(rel(REL.WHEEL_HI_RES, -60), rel(REL.WHEEL, -1), SYN))).toEqual([-1]);
    // Horizontal is decided on its own: this device has sent no hi-res horizontal event yet.
    const dxs = feed(rel(REL.HWHEEL, 1), SYN).flatMap((i) => (i.type === 'wheel' ? [i.dx] : []));
    expect(dxs).toEqual([1]);
    expect(feed(rel(REL.HWHEEL_HI_RES, -240), rel(REL.HWHEEL, -2), SYN).flatMap((i) => (i.type === 'wheel' ? [i.dx] : []))).toEqual([-1, -1]);
  });

  it('drops the frame the kernel marks with SYN_DROPPED, up to the next SYN_REPORT', () => {
    const { feed } = decoderFor();
    expect(feed(rel(REL.X, 50), [EV.SYN, 3, 0], key(BTN.LEFT, 1), SYN)).toEqual([]);
    expect(feed(rel(REL.X, 1), SYN)).toEqual([{ type: 'move', x: 401, y: 300, ts: TS_MS }]);
  });

  it('refuses a stream that sends a letter key, and publishes nothing of that frame', () => {
    const { feed } = decoderFor();
    expect(feed(rel(REL.X, 1))).toEqual([]);
    expect(() => feed(key(30, 1))).toThrow(KeyboardStreamError); // KEY_A
    expect(() => feed(key(16, 0))).toThrow(/keyboard/); // KEY_Q
    expect(() => feed(key(50, 1))).toThrow(/keyboard/); // KEY_M
    expect(feed(key(28, 1), SYN)).toEqual([{ type: 'move', x: 401, y: 300, ts: TS_MS }]); // KEY_ENTER alone: no letter, not published either
  });
});

/**
 * The kernel's input events (`struct input_event`, linux/input.h) turned into contract mouse input.
 * Pure: bytes and records in, MouseInput out, so every rule here is tested byte for byte.
 */
import type { MouseButton, ScreenSize } from '../../protocol';
import type { MouseInput } from './source';

export const EV_SYN = 0x00;
export const EV_KEY = 0x01;
export const EV_REL = 0x02;
export const EV_ABS = 0x03;
export const SYN_REPORT = 0;
export const SYN_DROPPED = 3;
export const REL_X = 0x00;
export const REL_Y = 0x01;
export const REL_HWHEEL = 0x06;
export const REL_WHEEL = 0x08;
export const REL_WHEEL_HI_RES = 0x0b;
export const REL_HWHEEL_HI_RES = 0x0c;
export const ABS_X = 0x00;
export const ABS_Y = 0x01;

/** linux/input-event-codes.h: BTN_LEFT 0x110 ... BTN_EXTRA 0x114, and BTN_FORWARD/BTN_BACK some mice send instead. */
export const BUTTON_CODES: Readonly<Record<number, MouseButton>> = {
  0x110: 'left',
  0x111: 'right',
  0x112: 'middle',
  0x113: 'back',
  0x114: 'forward',
  0x115: 'forward',
  0x116: 'back',
};

/** KEY_Q..KEY_P, KEY_A..KEY_L, KEY_Z..KEY_M: a device that has these is a keyboard, and mqlive never reads one. */
export const LETTER_KEY_CODES: readonly number[] = [...range(16, 25), ...range(30, 38), ...range(44, 50)];
const LETTER_KEYS = new Set(LETTER_KEY_CODES);

/** One hi-res wheel notch (linux/input.h: "a value of 120 is one notch"). */
const HI_RES_PER_NOTCH = 120;

export interface InputRecord {
  /** epoch ms: the kernel stamps events with CLOCK_REALTIME unless a reader asks for another clock. */
  ts: number;
  type: number;
  code: number;
  value: number;
}

/**
 * How `struct input_event` is laid out for this process: a `struct timeval` of two longs, then u16 type,
 * u16 code, s32 value. 24 bytes where long is 64 bits; 16 bytes on 32-bit ARM and x86 (the kernel converts for
 * 32-bit processes on a 64-bit kernel, so the process's architecture decides, not the kernel's).
 */
export interface RecordLayout {
  size: 16 | 24;
  longBytes: 4 | 8;
}

export const LAYOUT_64: RecordLayout = { size: 24, longBytes: 8 };
export const LAYOUT_32: RecordLayout = { size: 16, longBytes: 4 };

export function layoutFor(arch: string = process.arch): RecordLayout {
  return ['arm', 'ia32', 'mips', 'mipsel', 'ppc'].includes(arch) ? LAYOUT_32 : LAYOUT_64;
}

/** Cuts a byte stream into records; a record split across reads is kept until its rest arrives. Little-endian. */
export class RecordReader {
  private rest = Buffer.alloc(0);

  constructor(private readonly layout: RecordLayout) {}

  push(chunk: Buffer): InputRecord[] {
    const bytes = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const { size, longBytes } = this.layout;
    const records: InputRecord[] = [];
    let offset = 0;
    for (; offset + size <= bytes.length; offset += size) {
      const sec = longBytes === 8 ? Number(bytes.readBigInt64LE(offset)) : bytes.readUInt32LE(offset);
      const usec = longBytes === 8 ? Number(bytes.readBigInt64LE(offset + 8)) : bytes.readUInt32LE(offset + 4);
      const at = offset + 2 * longBytes;
      records.push({
        ts: sec * 1000 + Math.floor(usec / 1000),
        type: bytes.readUInt16LE(at),
        code: bytes.readUInt16LE(at + 2),
        value: bytes.readInt32LE(at + 4),
      });
    }
    this.rest = Buffer.from(bytes.subarray(offset));
    return records;
  }
}

export interface AxisRange {
  min: number;
  max: number;
}

/** The one pointer every device moves (as X moves one pointer for all mice): a position clamped to the screen. */
export class Pointer {
  x: number;
  y: number;

  constructor(readonly screen: ScreenSize) {
    this.x = Math.floor(screen.width / 2);
    this.y = Math.floor(screen.height / 2);
  }

  moveBy(dx: number, dy: number): void {
    this.moveTo(this.x + dx, this.y + dy);
  }

  moveTo(x: number, y: number): void {
    this.x = clamp(Math.round(x), 0, this.screen.width - 1);
    this.y = clamp(Math.round(y), 0, this.screen.height - 1);
  }
}

export class KeyboardStreamError extends Error {
  override name = 'KeyboardStreamError';
}

export interface DecoderOptions {
  /** Axis ranges of an absolute device (ABS_X, ABS_Y); a value beyond a range widens it. */
  absRange: { x: AxisRange; y: AxisRange };
}

/**
 * One device's events, collected per frame: the kernel ends every frame with SYN_REPORT, and only then is
 * the frame applied: motion first, then buttons and wheel notches in the order they came.
 */
export class FrameDecoder {
  private dx = 0;
  private dy = 0;
  private absX: number | undefined;
  private absY: number | undefined;
  private buttons: { button: MouseButton; pressed: boolean }[] = [];
  private wheel = { v: 0, h: 0, vHiRes: 0, hHiRes: 0 };
  /** Once a device has sent a hi-res wheel event on an axis, its legacy events there are the same turn again. */
  private hiRes = { v: false, h: false };
  private hiResRemainder = { v: 0, h: 0 };
  private dropping = false;
  private readonly absRange: { x: AxisRange; y: AxisRange };

  constructor(
    private readonly pointer: Pointer,
    options: DecoderOptions,
  ) {
    this.absRange = { x: { ...options.absRange.x }, y: { ...options.absRange.y } };
  }

  /** Takes one record; returns the frame's input at SYN_REPORT, nothing before. Throws on a letter key. */
  push(record: InputRecord): MouseInput[] {
    const { type, code, value } = record;
    if (type === EV_KEY && LETTER_KEYS.has(code)) {
      throw new KeyboardStreamError(`it sent a keyboard key (code ${code}); mqlive never reads a keyboard`);
    }
    if (type === EV_SYN) {
      if (code === SYN_DROPPED) {
        // The kernel's buffer overflowed: this frame is incomplete, skip it up to the next SYN_REPORT.
        this.dropping = true;
        this.reset();
        return [];
      }
      if (code !== SYN_REPORT) return [];
      if (this.dropping) {
        this.dropping = false;
        this.reset();
        return [];
      }
      return this.endFrame(record.ts > 0 ? record.ts : Date.now()); // a record with no time stamp: the time of reading
    }
    if (this.dropping) return [];
    if (type === EV_REL) this.relative(code, value);
    else if (type === EV_ABS) {
      if (code === ABS_X) this.absX = value;
      if (code === ABS_Y) this.absY = value;
    } else if (type === EV_KEY) {
      const button = BUTTON_CODES[code];
      if (button && value !== 2) this.buttons.push({ button, pressed: value === 1 }); // 2 is autorepeat
    }
    return [];
  }

  private relative(code: number, value: number): void {
    if (code === REL_X) this.dx += value;
    else if (code === REL_Y) this.dy += value;
    else if (code === REL_WHEEL) this.wheel.v += value;
    else if (code === REL_HWHEEL) this.wheel.h += value;
    else if (code === REL_WHEEL_HI_RES) {
      this.wheel.vHiRes += value;
      this.hiRes.v = true;
    } else if (code === REL_HWHEEL_HI_RES) {
      this.wheel.hHiRes += value;
      this.hiRes.h = true;
    }
  }

  private endFrame(ts: number): MouseInput[] {
    const pointer = this.pointer;
    const before = { x: pointer.x, y: pointer.y };
    if (this.dx || this.dy) pointer.moveBy(this.dx, this.dy);
    if (this.absX !== undefined || this.absY !== undefined) {
      const { width, height } = pointer.screen;
      const x = this.absX === undefined ? pointer.x : scale(this.absX, this.absRange.x, width);
      const y = this.absY === undefined ? pointer.y : scale(this.absY, this.absRange.y, height);
      pointer.moveTo(x, y);
    }
    const { x, y } = pointer;
    const out: MouseInput[] = [];
    if (x !== before.x || y !== before.y) out.push({ type: 'move', x, y, ts });
    for (const { button, pressed } of this.buttons) out.push({ type: 'button', x, y, button, pressed, ts });
    // Kernel wheel signs: REL_WHEEL > 0 is away from the user (up), REL_HWHEEL > 0 is right: the contract's signs.
    const dy = this.notches('v', this.wheel.v, this.wheel.vHiRes);
    const dx = this.notches('h', this.wheel.h, this.wheel.hHiRes);
    for (let i = 0; i < Math.abs(dy); i++) out.push({ type: 'wheel', x, y, dx: 0, dy: Math.sign(dy), ts });
    for (let i = 0; i < Math.abs(dx); i++) out.push({ type: 'wheel', x, y, dx: Math.sign(dx), dy: 0, ts });
    this.reset();
    return out;
  }

  /** Whole notches of a wheel axis this frame: from hi-res units (remainder kept) once the device sends them. */
  private notches(axis: 'v' | 'h', legacy: number, hiRes: number): number {
    if (!this.hiRes[axis]) return legacy;
    const total = this.hiResRemainder[axis] + hiRes;
    const whole = Math.trunc(total / HI_RES_PER_NOTCH);
    this.hiResRemainder[axis] = total - whole * HI_RES_PER_NOTCH;
    return whole;
  }

  private reset(): void {
    this.dx = this.dy = 0;
    this.absX = this.absY = undefined;
    this.buttons = [];
    this.wheel = { v: 0, h: 0, vHiRes: 0, hHiRes: 0 };
  }
}

/** Maps an axis value to a pixel: min to 0, max to size - 1. */
function scale(value: number, range: AxisRange, size: number): number {
  if (value < range.min) range.min = value;
  if (value > range.max) range.max = value;
  const span = range.max - range.min;
  return span > 0 ? ((value - range.min) / span) * (size - 1) : 0;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

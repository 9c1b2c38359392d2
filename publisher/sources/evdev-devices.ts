/**
 * Which /dev/input/event* devices are pointers, and which are keyboards (never opened). Capabilities come from
 * the kernel's text files, no ioctl: /proc/bus/input/devices lists every device with its bitmaps, and
 * /sys/class/input/eventN/device/capabilities/ has the same bitmaps for one device.
 */
import { machine } from 'node:os';
import { ABS_X, ABS_Y, EV_ABS, EV_KEY, EV_REL, LETTER_KEY_CODES, REL_X, REL_Y } from './evdev-events';

const BTN_LEFT = 0x110;
const BTN_TOOL_PEN = 0x140;
const BTN_TOOL_FINGER = 0x145;
const BTN_TOUCH = 0x14a;
const BTN_JOYSTICK = 0x120;
const BTN_GAMEPAD = 0x130;

/** A capability bitmap as the kernel prints it: hex words, most significant first, each a kernel `long`. */
export class Bitmap {
  private constructor(private readonly bits: Set<number>) {}

  static parse(text: string, wordBits: number): Bitmap {
    const bits = new Set<number>();
    const words = text.trim().split(/\s+/).filter(Boolean).reverse();
    words.forEach((word, i) => {
      let value = BigInt(`0x${word}`);
      for (let bit = 0; value > 0n; bit++, value >>= 1n) if (value & 1n) bits.add(i * wordBits + bit);
    });
    return new Bitmap(bits);
  }

  has(bit: number): boolean {
    return this.bits.has(bit);
  }
}

export interface Capabilities {
  ev: Bitmap;
  key: Bitmap;
  rel: Bitmap;
  abs: Bitmap;
}

/** Bits per word of the kernel's bitmaps: the kernel's `long`, which a 32-bit process on a 64-bit kernel does not share. */
export function kernelWordBits(kernelMachine: string = machine()): number {
  return /64|s390x/.test(kernelMachine) ? 64 : 32;
}

export function isKeyboard(caps: Capabilities): boolean {
  return caps.ev.has(EV_KEY) && LETTER_KEY_CODES.some((code) => caps.key.has(code));
}

/** Mice and trackballs (REL_X and REL_Y), touchpads, touch screens and tablets (ABS_X and ABS_Y with a touch, pen or button); not joysticks. */
export function isPointer(caps: Capabilities): boolean {
  const relative = caps.ev.has(EV_REL) && caps.rel.has(REL_X) && caps.rel.has(REL_Y);
  const absolute =
    caps.ev.has(EV_ABS) &&
    caps.abs.has(ABS_X) &&
    caps.abs.has(ABS_Y) &&
    [BTN_TOUCH, BTN_LEFT, BTN_TOOL_PEN, BTN_TOOL_FINGER].some((b) => caps.key.has(b)) &&
    !caps.key.has(BTN_JOYSTICK) &&
    !caps.key.has(BTN_GAMEPAD);
  return relative || absolute;
}

export interface ListedDevice {
  name: string;
  /** /dev/input/eventN */
  path: string;
  caps: Capabilities;
}

/** Parses /proc/bus/input/devices: one block per device, `N: Name=`, `H: Handlers=... eventN`, `B: EV=` etc. */
export function parseProcDevices(text: string, wordBits: number): ListedDevice[] {
  const devices: ListedDevice[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const name = block.match(/^N: Name="(.*)"$/m)?.[1] ?? 'unnamed';
    const handler = block.match(/^H: Handlers=.*\b(event\d+)\b/m)?.[1];
    if (!handler) continue;
    const bitmap = (key: string) => Bitmap.parse(block.match(new RegExp(`^B: ${key}=(.*)$`, 'm'))?.[1] ?? '0', wordBits);
    devices.push({ name, path: `/dev/input/${handler}`, caps: { ev: bitmap('EV'), key: bitmap('KEY'), rel: bitmap('REL'), abs: bitmap('ABS') } });
  }
  return devices;
}

/** Reads a text file, or null when it is not there: the file system is injected so tests can give it. */
export type ReadText = (path: string) => Promise<string | null>;

/**
 * The capabilities of the device behind `path` (a /dev/input/eventN, or a symlink such as /dev/input/by-id/...
 * resolved by the caller), or null when the kernel has none for it: a named pipe or another file.
 */
export async function capabilitiesOf(realPath: string, readText: ReadText, wordBits: number): Promise<Capabilities | null> {
  const node = realPath.match(/^\/dev\/input\/(event\d+)$/)?.[1];
  if (!node) return null;
  const dir = `/sys/class/input/${node}/device/capabilities`;
  const [ev, key, rel, abs] = await Promise.all(['ev', 'key', 'rel', 'abs'].map((f) => readText(`${dir}/${f}`)));
  if (ev === null) return null;
  const bitmap = (text: string | null | undefined) => Bitmap.parse(text ?? '0', wordBits);
  return { ev: bitmap(ev), key: bitmap(key), rel: bitmap(rel), abs: bitmap(abs) };
}

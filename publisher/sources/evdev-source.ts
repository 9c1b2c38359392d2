/**
 * `--source evdev`: the kernel's own input events from /dev/input/event* (Linux, no X or Wayland needed: a
 * Raspberry Pi's USB mouse, a desktop under Wayland). Pointers only: a device with letter keys is a keyboard
 * and is never opened, and a stream that sends a letter key is closed at once.
 */
import { closeSync, constants, createReadStream, openSync, statSync } from 'node:fs';
import { access, readFile, realpath } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { ScreenSize } from '../../protocol';
import { backoffDelay } from './backoff';
import { capabilitiesOf, isKeyboard, isPointer, kernelWordBits, parseProcDevices, type ReadText } from './evdev-devices';
import { EV_ABS, FrameDecoder, KeyboardStreamError, layoutFor, Pointer, RecordReader, type AxisRange, type RecordLayout } from './evdev-events';
import { SourceFlagError, type MouseSource, type SourceContext, type SourceEntry, type SourceFlagValues, type SourceHandlers } from './source';

export const DEFAULT_SCREEN: ScreenSize = { width: 1920, height: 1080 };
/** Most USB HID digitizers report 0 to 32767; a value beyond the assumed range widens it. */
export const DEFAULT_ABS_RANGE: AxisRange = { min: 0, max: 32767 };

const PERMISSION_FIX =
  'add yourself to the input group (sudo usermod -aG input "$USER", then log in again) or give read access with a udev rule';

/** The file system as evdev uses it: injected, so tests can play /proc, /sys and /dev/input. */
export interface EvdevSystem {
  readText: ReadText;
  /** Rejects (with the errno code) unless the file can be opened for reading. */
  checkReadable(path: string): Promise<void>;
  realpath(path: string): Promise<string>;
  openStream(path: string): Readable;
  /** Lets an open that waits for a writer (a named pipe) return, so that it cannot keep the process from exiting. */
  releaseOpen(path: string): void;
  layout: RecordLayout;
  wordBits: number;
}

export const LINUX: EvdevSystem = {
  readText: (path) => readFile(path, 'utf8').catch(() => null),
  checkReadable: (path) => access(path, constants.R_OK),
  realpath: (path) => realpath(path),
  // Each open device holds one of libuv's threadpool threads in a blocking read; a handful of mice is fine.
  openStream: (path) => createReadStream(path, { highWaterMark: 24 * 64 }),
  // Opening a named pipe for reading waits in libuv's threadpool until a writer comes, and Node does not exit
  // while that open is pending. Opening it for writing once, without waiting, lets it return. Kernel devices
  // never wait on open, and anything but a pipe is left alone.
  releaseOpen: (path) => {
    if (!statSync(path, { throwIfNoEntry: false })?.isFIFO()) return;
    try {
      closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody has it open for reading any more, so there is nothing to release.
    }
  },
  layout: layoutFor(),
  wordBits: kernelWordBits(),
};

export interface EvdevSettings {
  devices: string[];
  screen: ScreenSize;
  screenFrom: 'flag' | 'x11' | 'default';
  absRange: { x: AxisRange; y: AxisRange } | null;
}

export const evdevSource: SourceEntry = {
  name: 'evdev',
  description: 'Linux kernel input (/dev/input): any session, X, Wayland or none; needs read access to /dev/input',
  auto: true,
  flags: {
    'evdev-device': {
      env: 'MQLIVE_EVDEV_DEVICE',
      type: 'list',
      help: 'evdev: a device to read (default: every readable mouse, touchpad or tablet)',
    },
    screen: { env: 'MQLIVE_SCREEN', type: 'string', help: 'evdev: screen size WxH the pointer moves in (default: the X screen, else 1920x1080)' },
    'evdev-abs-range': {
      env: 'MQLIVE_EVDEV_ABS_RANGE',
      type: 'string',
      help: 'evdev: axis range of absolute devices, MIN:MAX or XMIN:XMAX,YMIN:YMAX (default 0:32767; see `evtest`)',
    },
  },
  open: (context, flags) => EvdevSource.open(context, flags),
};

/** Parses `WxH`. */
export function parseScreen(value: string): ScreenSize {
  const m = value.match(/^(\d{1,5})x(\d{1,5})$/);
  const size = m && { width: Number(m[1]), height: Number(m[2]) };
  if (!size || size.width < 1 || size.height < 1) throw new SourceFlagError(`--screen must be WIDTHxHEIGHT, like 1920x1080 (got "${value}")`);
  return size;
}

/** Parses `MIN:MAX` (both axes) or `XMIN:XMAX,YMIN:YMAX`. */
export function parseAbsRange(value: string): { x: AxisRange; y: AxisRange } {
  const ranges = value.split(',').map((part) => {
    const m = part.trim().match(/^(-?\d+):(-?\d+)$/);
    return m && Number(m[1]) < Number(m[2]) ? { min: Number(m[1]), max: Number(m[2]) } : null;
  });
  const [x, y = x] = ranges;
  if (!x || !y || ranges.length > 2) throw new SourceFlagError(`--evdev-abs-range must be MIN:MAX or XMIN:XMAX,YMIN:YMAX with MIN < MAX (got "${value}")`);
  return { x, y };
}

export function permissionLine(path: string): string {
  return `evdev: no permission to read ${path}: ${PERMISSION_FIX}`;
}

interface Reading {
  path: string;
  stream: Readable | undefined;
  failures: number;
  retry: ReturnType<typeof setTimeout> | undefined;
  /** A keyboard is never read again. */
  refused: boolean;
  running: boolean;
  /** Whether the current stream's open has returned. */
  opened: boolean;
}

export class EvdevSource implements MouseSource {
  readonly kind = 'evdev';
  private readonly pointer: Pointer;
  private readonly readings: Reading[];
  private handlers: SourceHandlers | undefined;
  private stopped = false;
  private absNoted = false;

  constructor(
    private readonly settings: EvdevSettings,
    private readonly say: (line: string) => void,
    private readonly system: EvdevSystem = LINUX,
  ) {
    this.pointer = new Pointer(settings.screen);
    this.readings = settings.devices.map((path) => ({ path, stream: undefined, failures: 0, retry: undefined, refused: false, running: false, opened: false }));
  }

  get screen(): ScreenSize {
    return this.settings.screen;
  }

  get screenFrom(): string {
    return this.settings.screenFrom;
  }

  /** Settles flags, screen and devices; rejects with one sentence when there is nothing this user may read. */
  static async open(context: SourceContext, flags: SourceFlagValues, system: EvdevSystem = LINUX): Promise<EvdevSource> {
    if (context.platform !== 'linux') throw new Error(`evdev is Linux's input interface; this is ${context.platform}`);
    const screenFlag = flags.screen as string | undefined;
    const rangeFlag = flags['evdev-abs-range'] as string | undefined;
    const absRange = rangeFlag === undefined ? null : parseAbsRange(rangeFlag);
    let screen: ScreenSize;
    let screenFrom: EvdevSettings['screenFrom'];
    if (screenFlag !== undefined) [screen, screenFrom] = [parseScreen(screenFlag), 'flag'];
    else {
      const x11 = await context.probeX11(context.env.DISPLAY).catch(() => null);
      [screen, screenFrom] = x11 ? [x11, 'x11'] : [DEFAULT_SCREEN, 'default'];
    }
    const named = (flags['evdev-device'] as string[] | undefined) ?? [];
    const devices = named.length ? await checkNamed(named, context.say, system) : await discover(context.say, system);
    context.say(`evdev: reading ${devices.join(', ')}`);
    if (screenFrom === 'default') {
      context.say(`evdev: no --screen and no X display: the pointer moves in an assumed ${screen.width}x${screen.height} screen`);
    }
    return new EvdevSource({ devices, screen, screenFrom, absRange }, context.say, system);
  }

  async start(handlers: SourceHandlers): Promise<void> {
    this.handlers = handlers;
    for (const reading of this.readings) this.read(reading);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const reading of this.readings) {
      clearTimeout(reading.retry);
      // Not awaited: a read blocked on a silent device finishes only when data comes (it does not hold the exit).
      if (reading.stream && !reading.opened) this.system.releaseOpen(reading.path);
      reading.stream?.destroy();
    }
  }

  private read(reading: Reading): void {
    const { path } = reading;
    const decoder = new FrameDecoder(this.pointer, { absRange: this.settings.absRange ?? { x: DEFAULT_ABS_RANGE, y: DEFAULT_ABS_RANGE } });
    const records = new RecordReader(this.system.layout);
    const stream = this.system.openStream(path);
    reading.stream = stream;
    reading.opened = false;
    let ended = false;
    const lost = (why: string) => {
      if (ended) return;
      ended = true;
      stream.destroy();
      reading.running = false;
      if (!this.stopped && !reading.refused) this.retryLater(reading, why);
    };
    stream.on('open', () => {
      reading.opened = true;
      const back = reading.failures > 0;
      reading.failures = 0;
      reading.running = true;
      if (back && this.readings.every((r) => r.running || r.refused)) this.handlers?.onCaptureState(true, `evdev: ${path} is back; capture runs again`);
    });
    stream.on('data', (chunk: Buffer) => {
      if (ended) return;
      try {
        for (const record of records.push(chunk)) {
          if (record.type === EV_ABS) this.noteAbsolute(path);
          for (const input of decoder.push(record)) this.handlers?.onInput(input);
        }
      } catch (error) {
        if (!(error instanceof KeyboardStreamError)) throw error;
        reading.refused = true;
        lost('');
        this.refuse(path, error.message);
      }
    });
    stream.on('end', () => lost('it closed'));
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EACCES') return lost(permissionLine(path).replace(/^evdev: /, ''));
      lost(error.code === 'ENOENT' || error.code === 'ENODEV' ? 'unplugged?' : error.message);
    });
  }

  private retryLater(reading: Reading, why: string): void {
    const delay = backoffDelay(reading.failures);
    reading.failures += 1;
    this.handlers?.onCaptureState(false, `evdev: ${reading.path} went away (${why}); trying again in ${Math.round(delay / 1000)} s`);
    reading.retry = setTimeout(() => {
      if (!this.stopped) this.read(reading);
    }, delay);
  }

  private refuse(path: string, why: string): void {
    const line = `evdev: stopped reading ${path}: ${why}`;
    if (this.readings.every((r) => r.refused)) this.handlers?.onCaptureState(false, line);
    else this.say(line);
  }

  private noteAbsolute(path: string): void {
    if (this.absNoted || this.settings.absRange) return;
    this.absNoted = true;
    const { min, max } = DEFAULT_ABS_RANGE;
    this.say(`evdev: ${path} reports absolute positions; assuming axes from ${min} to ${max} (give --evdev-abs-range as \`evtest\` shows it)`);
  }
}

/** Devices named on the command line: each must be readable; a keyboard is skipped with a line saying why. */
async function checkNamed(paths: string[], say: (line: string) => void, system: EvdevSystem): Promise<string[]> {
  const keep: string[] = [];
  for (const path of paths) {
    try {
      await system.checkReadable(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES') throw new Error(permissionLine(path));
      throw new Error(`evdev: cannot read ${path} (${code ?? (error as Error).message})`);
    }
    const caps = await capabilitiesOf(await system.realpath(path), system.readText, system.wordBits);
    if (caps && isKeyboard(caps)) say(`evdev: skipping ${path}: it has letter keys, so it is a keyboard, and mqlive never reads a keyboard`);
    else if (caps && !isPointer(caps)) say(`evdev: skipping ${path}: it is not a mouse, touchpad or tablet`);
    else keep.push(path); // caps null: not a kernel device (a named pipe); its stream is checked for letter keys instead
  }
  if (!keep.length) throw new Error('evdev: none of the named devices is a pointer mqlive may read');
  return keep;
}

/** Every pointer device in /proc/bus/input/devices that this user may read. */
async function discover(say: (line: string) => void, system: EvdevSystem): Promise<string[]> {
  const listing = await system.readText('/proc/bus/input/devices');
  if (listing === null) throw new Error('evdev: /proc/bus/input/devices cannot be read (is this Linux with /proc mounted?)');
  const pointers = parseProcDevices(listing, system.wordBits).filter((d) => !isKeyboard(d.caps) && isPointer(d.caps));
  if (!pointers.length) throw new Error('evdev: no mouse, touchpad or tablet in /proc/bus/input/devices');
  const readable: string[] = [];
  const denied: string[] = [];
  for (const device of pointers) {
    const ok = await system.checkReadable(device.path).then(
      () => true,
      () => false,
    );
    (ok ? readable : denied).push(device.path);
  }
  if (!readable.length) throw new Error(permissionLine(denied.join(', ')));
  if (denied.length) say(permissionLine(denied.join(', ')));
  return readable;
}

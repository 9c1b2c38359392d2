import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PROC_DEVICES_64, record64 } from '../../test-support/evdev';
import { LAYOUT_64 } from './evdev-events';
import { EvdevSource, type EvdevSystem } from './evdev-source';
import { SourceFlagError, type MouseInput } from './source';
import { sourceContext } from '../../test-support/source-context';

// The Linux file system evdev reads (/proc, /sys, /dev/input) given as values: this machine has no /dev/input.
const KEYBOARD_CAPS = { ev: '120013', key: '402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe', rel: '0', abs: '0' };
const MOUSE_CAPS = { ev: '17', key: '1f0000 0 0 0 0', rel: '903', abs: '0' };

function system(options: { denied?: string[]; missing?: string[]; sysfs?: Record<string, typeof MOUSE_CAPS>; streams?: Readable[] } = {}): EvdevSystem {
  const files = new Map<string, string>([['/proc/bus/input/devices', PROC_DEVICES_64]]);
  for (const [node, caps] of Object.entries(options.sysfs ?? {})) {
    for (const [name, text] of Object.entries(caps)) files.set(`/sys/class/input/${node}/device/capabilities/${name}`, `${text}\n`);
  }
  const fail = (code: string) => Object.assign(new Error(code), { code });
  return {
    readText: async (path) => files.get(path) ?? null,
    checkReadable: async (path) => {
      if (options.missing?.includes(path)) throw fail('ENOENT');
      if (options.denied?.includes(path)) throw fail('EACCES');
    },
    realpath: async (path) => path.replace('/dev/input/by-id/usb-kbd', '/dev/input/event0'),
    openStream: () => options.streams?.shift() ?? new PassThrough(),
    releaseOpen: () => {},
    layout: LAYOUT_64,
    wordBits: 64,
  };
}

const context = sourceContext;

describe('evdev: which devices it reads', () => {
  it('by default reads every readable mouse and touchpad, never the keyboard', async () => {
    const { ctx, lines } = context();
    const source = await EvdevSource.open(ctx, {}, system());
    expect(source['readings'].map((r) => r.path)).toEqual(['/dev/input/event5', '/dev/input/event6']);
    expect(lines[0]).toBe('evdev: reading /dev/input/event5, /dev/input/event6');
  });

  it('says how to get permission when a pointer cannot be read, and fails when none can', async () => {
    const { ctx, lines } = context();
    await EvdevSource.open(ctx, {}, system({ denied: ['/dev/input/event6'] }));
    expect(lines).toContainEqual(expect.stringMatching(/^evdev: no permission to read \/dev\/input\/event6: add yourself to the input group .* udev rule$/));
    const all = EvdevSource.open(ctx, {}, system({ denied: ['/dev/input/event5', '/dev/input/event6'] }));
    await expect(all).rejects.toThrow(/^evdev: no permission to read \/dev\/input\/event5, \/dev\/input\/event6: add yourself to the input group/);
  });

  it('skips a keyboard even when it is named on the command line (through a symlink), saying why', async () => {
    const { ctx, lines } = context();
    const sys = system({ sysfs: { event0: KEYBOARD_CAPS, event5: MOUSE_CAPS } });
    const source = await EvdevSource.open(ctx, { 'evdev-device': ['/dev/input/by-id/usb-kbd', '/dev/input/event5'] }, sys);
    expect(source['readings'].map((r) => r.path)).toEqual(['/dev/input/event5']);
    expect(lines).toContain('evdev: skipping /dev/input/by-id/usb-kbd: it has letter keys, so it is a keyboard, and mqlive never reads a keyboard');
    await expect(EvdevSource.open(ctx, { 'evdev-device': ['/dev/input/event0'] }, sys)).rejects.toThrow(/none of the named devices/);
  });

  it('reads a named file the kernel has no capabilities for (a named pipe), and names a device it may not read', async () => {
    const { ctx } = context();
    const source = await EvdevSource.open(ctx, { 'evdev-device': ['/tmp/mouse.fifo'] }, system());
    expect(source['readings'].map((r) => r.path)).toEqual(['/tmp/mouse.fifo']);
    await expect(EvdevSource.open(ctx, { 'evdev-device': ['/dev/input/event9'] }, system({ denied: ['/dev/input/event9'] }))).rejects.toThrow(
      /^evdev: no permission to read \/dev\/input\/event9: add yourself to the input group/,
    );
    await expect(EvdevSource.open(ctx, { 'evdev-device': ['/nope'] }, system({ missing: ['/nope'] }))).rejects.toThrow('evdev: cannot read /nope (ENOENT)');
  });

  it('is Linux only', async () => {
    const { ctx } = context({ platform: 'darwin' });
    await expect(EvdevSource.open(ctx, {}, system())).rejects.toThrow(/Linux/);
  });
});

describe('evdev: the screen the pointer moves in', () => {
  it('takes --screen, else the X screen, else 1920x1080 with a line; meta says which', async () => {
    const flag = await EvdevSource.open(context().ctx, { screen: '800x600' }, system());
    expect([flag.screen, flag.screenFrom]).toEqual([{ width: 800, height: 600 }, 'flag']);
    const x = await EvdevSource.open(context({ probeX11: async () => ({ width: 1280, height: 800 }) }).ctx, {}, system());
    expect([x.screen, x.screenFrom]).toEqual([{ width: 1280, height: 800 }, 'x11']);
    const { ctx, lines } = context();
    const assumed = await EvdevSource.open(ctx, {}, system());
    expect([assumed.screen, assumed.screenFrom]).toEqual([{ width: 1920, height: 1080 }, 'default']);
    expect(lines).toContain('evdev: no --screen and no X display: the pointer moves in an assumed 1920x1080 screen');
  });

  it('refuses bad --screen and --evdev-abs-range values as flag errors', async () => {
    const { ctx } = context();
    for (const screen of ['800', '0x600', '800x', 'axb']) await expect(EvdevSource.open(ctx, { screen }, system())).rejects.toThrow(SourceFlagError);
    for (const range of ['10:5', '0-100', '0:1,0:1,0:1']) {
      await expect(EvdevSource.open(ctx, { 'evdev-abs-range': range }, system())).rejects.toThrow(SourceFlagError);
    }
  });
});

describe('evdev: reading', () => {
  const record = (type: number, code: number, value: number) => record64(type, code, value, 1_700_000_000, 0);

  it('stops reading a stream that sends a letter key, and says so', async () => {
    const stream = new PassThrough();
    const { ctx, lines } = context();
    const source = await EvdevSource.open(ctx, { 'evdev-device': ['/tmp/a.fifo'], screen: '100x100' }, system({ streams: [stream] }));
    const inputs: MouseInput[] = [];
    const states: [boolean, string][] = [];
    await source.start({ onInput: (i) => inputs.push(i), onCaptureState: (running, message) => states.push([running, message]) });
    stream.write(Buffer.concat([record(2, 0, 5), record(0, 0, 0)]));
    await expect.poll(() => inputs).toEqual([{ type: 'move', x: 55, y: 50, ts: 1_700_000_000_000 }]);
    stream.write(Buffer.concat([record(2, 0, 5), record(1, 30, 1), record(0, 0, 0), record(2, 0, 5), record(0, 0, 0)])); // KEY_A
    await expect.poll(() => states).toEqual([[false, 'evdev: stopped reading /tmp/a.fifo: it sent a keyboard key (code 30); mqlive never reads a keyboard']]);
    expect(inputs).toHaveLength(1);
    expect(stream.destroyed).toBe(true);
    expect(lines).toEqual(['evdev: reading /tmp/a.fifo']);
    await source.stop();
  });
});

import { describe, expect, it } from 'vitest';
import { PROC_DEVICES_64 } from '../../test-support/evdev';
import { Bitmap, isKeyboard, isPointer, kernelWordBits, parseProcDevices } from './evdev-devices';

describe('evdev device capabilities', () => {
  it('finds the mouse and the touchpad among keyboards, a gamepad and a power button (64-bit kernel words)', () => {
    const devices = parseProcDevices(PROC_DEVICES_64, 64);
    expect(devices.map((d) => d.path)).toEqual(['/dev/input/event0', '/dev/input/event5', '/dev/input/event6', '/dev/input/event7', '/dev/input/event1']);
    const pointers = devices.filter((d) => !isKeyboard(d.caps) && isPointer(d.caps));
    expect(pointers.map((d) => d.name)).toEqual(['Logitech USB Optical Mouse', 'SynPS/2 Synaptics TouchPad']);
    expect(devices.filter((d) => isKeyboard(d.caps)).map((d) => d.name)).toEqual(['AT Translated Set 2 keyboard']);
  });

  it('reads bitmaps of a 32-bit kernel, whose words are 32 bits', () => {
    const mouse32 = `N: Name="USB Mouse"\nH: Handlers=mouse0 event2\nB: EV=17\nB: KEY=1f0000 0 0 0 0 0 0 0 0\nB: REL=903\n`;
    const [mouse] = parseProcDevices(mouse32, 32);
    expect(isPointer(mouse!.caps)).toBe(true);
    expect(mouse!.caps.key.has(0x110)).toBe(true); // BTN_LEFT
    expect(mouse!.caps.key.has(0x114)).toBe(true); // BTN_EXTRA
    expect(kernelWordBits('aarch64')).toBe(64);
    expect(kernelWordBits('x86_64')).toBe(64);
    expect(kernelWordBits('armv7l')).toBe(32);
  });

  it('calls a device with any letter key a keyboard, even when it also moves a pointer', () => {
    const ev = Bitmap.parse('7', 64); // SYN, KEY, REL
    const rel = Bitmap.parse('3', 64); // REL_X, REL_Y
    const letterA = Bitmap.parse((1n << 30n).toString(16), 64); // KEY_A only
    expect(isKeyboard({ ev, key: letterA, rel, abs: Bitmap.parse('0', 64) })).toBe(true);
    expect(isPointer({ ev, key: letterA, rel, abs: Bitmap.parse('0', 64) })).toBe(true);
    const enterOnly = Bitmap.parse((1n << 28n).toString(16), 64); // KEY_ENTER: no letter
    expect(isKeyboard({ ev, key: enterOnly, rel, abs: Bitmap.parse('0', 64) })).toBe(false);
  });
});

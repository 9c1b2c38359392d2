/**
 * Kernel input data for evdev tests, written out from linux/input.h and real machines' /proc files, not with
 * mqlive's decoder: `struct input_event` records for both layouts, and a /proc/bus/input/devices listing.
 */

export const TS_SEC = 1_700_000_000;
export const TS_USEC = 123_456;
export const TS_MS = TS_SEC * 1000 + 123;

/** struct input_event on 64-bit: s64 tv_sec, s64 tv_usec, u16 type, u16 code, s32 value (24 bytes). */
export function record64(type: number, code: number, value: number, sec = TS_SEC, usec = TS_USEC): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigInt64LE(BigInt(sec), 0);
  b.writeBigInt64LE(BigInt(usec), 8);
  b.writeUInt16LE(type, 16);
  b.writeUInt16LE(code, 18);
  b.writeInt32LE(value, 20);
  return b;
}

/** struct input_event on 32-bit ARM: u32 tv_sec, u32 tv_usec, u16 type, u16 code, s32 value (16 bytes). */
export function record32(type: number, code: number, value: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32LE(TS_SEC, 0);
  b.writeUInt32LE(TS_USEC, 4);
  b.writeUInt16LE(type, 8);
  b.writeUInt16LE(code, 10);
  b.writeInt32LE(value, 12);
  return b;
}

// /proc/bus/input/devices as a 64-bit kernel prints it (taken from real machines, trimmed).
export const PROC_DEVICES_64 = `I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
H: Handlers=sysrq kbd event0 leds
B: PROP=0
B: EV=120013
B: KEY=402000000 3803078f800d001 feffffdfffefffff fffffffffffffffe
B: MSC=10
B: LED=7

I: Bus=0003 Vendor=046d Product=c077 Version=0111
N: Name="Logitech USB Optical Mouse"
H: Handlers=mouse0 event5
B: PROP=0
B: EV=17
B: KEY=1f0000 0 0 0 0
B: REL=903
B: MSC=10

I: Bus=0011 Vendor=0002 Product=0007 Version=01b1
N: Name="SynPS/2 Synaptics TouchPad"
H: Handlers=mouse1 event6
B: PROP=5
B: EV=b
B: KEY=e520 10000 0 0 0 0
B: ABS=660800011000003

I: Bus=0003 Vendor=045e Product=028e Version=0110
N: Name="Xbox 360 pad"
H: Handlers=event7 js0
B: EV=20000b
B: KEY=7cdb000000000000 0 0 0 0
B: ABS=3003f

I: Bus=0019 Vendor=0000 Product=0001 Version=0000
N: Name="Power Button"
H: Handlers=kbd event1
B: EV=3
B: KEY=10000000000000 0
`;


/**
 * Checks that an X display is reachable and reads its screen size, with no native library: it opens the
 * display's socket and performs the X11 connection setup (X Window System Protocol, section 8), with the
 * MIT-MAGIC-COOKIE-1 from the Xauthority file when there is one. uiohook-napi aborts the whole process
 * when it has no display, so this runs first and turns "no display" into a sentence.
 */
import { readFile } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { homedir } from 'node:os';
import type { ScreenSize } from '../protocol';

export class DisplayError extends Error {
  override name = 'DisplayError';
}

interface ParsedDisplay {
  host: string;
  display: number;
  screen: number;
}

export function parseDisplay(value: string | undefined): ParsedDisplay {
  if (!value) throw new DisplayError('no X display: DISPLAY is not set (uiohook needs X11 or XWayland)');
  const m = value.match(/^(?:([^:]*)\/)?([^:]*):(\d+)(?:\.(\d+))?$/);
  if (!m) throw new DisplayError(`DISPLAY="${value}" is not an X display name like :0 or host:0.0`);
  return { host: m[2] ?? '', display: Number(m[3]), screen: Number(m[4] ?? 0) };
}

function openSocket({ host, display }: ParsedDisplay): Socket {
  if (host === '' || host === 'unix') return createConnection(`/tmp/.X11-unix/X${display}`);
  return createConnection(6000 + display, host);
}

interface Cookie {
  name: string;
  data: Buffer;
}

/** Finds the cookie for `display` in an Xauthority file (entries of family, address, number, name, data). */
export function findCookie(file: Buffer, display: number): Cookie | null {
  let offset = 0;
  const readField = () => {
    const length = file.readUInt16BE(offset);
    const value = file.subarray(offset + 2, offset + 2 + length);
    offset += 2 + length;
    return value;
  };
  try {
    while (offset < file.length) {
      offset += 2; // family
      readField(); // address
      const number = readField().toString();
      const name = readField().toString();
      const data = readField();
      if ((number === '' || number === String(display)) && name === 'MIT-MAGIC-COOKIE-1') return { name, data };
    }
  } catch {
    return null; // a truncated file: try without a cookie
  }
  return null;
}

async function readCookie(display: number): Promise<Cookie | null> {
  const file = process.env.XAUTHORITY || `${homedir()}/.Xauthority`;
  const content = await readFile(file).catch(() => null);
  return content ? findCookie(content, display) : null;
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function setupRequest(cookie: Cookie | null): Buffer {
  const name = Buffer.from(cookie?.name ?? '');
  const data = cookie?.data ?? Buffer.alloc(0);
  const head = Buffer.alloc(12);
  head.write('l', 0); // little-endian
  head.writeUInt16LE(11, 2);
  head.writeUInt16LE(0, 4);
  head.writeUInt16LE(name.length, 6);
  head.writeUInt16LE(data.length, 8);
  return Buffer.concat([head, name, Buffer.alloc(pad4(name.length)), data, Buffer.alloc(pad4(data.length))]);
}

/** Parses the connection setup reply: the size of screen `screen`, or the server's refusal. */
export function parseSetupReply(reply: Buffer, screen: number): ScreenSize {
  if (reply[0] !== 1) {
    const reasonLength = reply[1] ?? 0;
    const reason = reply.subarray(8, 8 + reasonLength).toString().trim() || 'no reason given';
    throw new DisplayError(`the X server refused the connection: ${reason}`);
  }
  const vendorLength = reply.readUInt16LE(24);
  const screens = reply[28]!;
  const formats = reply[29]!;
  if (screen >= screens) throw new DisplayError(`the X display has ${screens} screen(s); screen ${screen} does not exist`);
  let offset = 40 + vendorLength + pad4(vendorLength) + 8 * formats;
  for (let i = 0; ; i++) {
    const width = reply.readUInt16LE(offset + 20);
    const height = reply.readUInt16LE(offset + 22);
    if (i === screen) return { width, height };
    const depths = reply[offset + 39]!;
    offset += 40;
    for (let d = 0; d < depths; d++) offset += 8 + 24 * reply.readUInt16LE(offset + 2);
  }
}

/** Resolves with the screen size of `displayName` (default $DISPLAY), or rejects with a DisplayError that says why. */
export async function probeDisplay(displayName = process.env.DISPLAY, timeoutMs = 3000): Promise<ScreenSize> {
  const parsed = parseDisplay(displayName);
  const cookie = await readCookie(parsed.display);
  return new Promise((resolve, reject) => {
    const socket = openSocket(parsed);
    let reply = Buffer.alloc(0);
    const finish = (error: Error | null, size?: ScreenSize) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(size!);
    };
    const timer = setTimeout(() => finish(new DisplayError(`X display ${displayName} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(setupRequest(cookie)));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      finish(new DisplayError(`cannot reach X display ${displayName} (${error.code ?? error.message}): is an X server running there?`)),
    );
    socket.on('data', (chunk) => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.length < 8) return;
      const total = 8 + 4 * reply.readUInt16LE(6);
      if (reply.length < total) return;
      try {
        finish(null, parseSetupReply(reply.subarray(0, total), parsed.screen));
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.on('end', () => finish(new DisplayError(`X display ${displayName} closed the connection during setup`)));
  });
}


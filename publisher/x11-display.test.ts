import { describe, expect, it } from 'vitest';
import { DisplayError, findCookie, parseDisplay, parseSetupReply } from './x11-display';

function xauthEntry(number: string, name: string, data: Buffer): Buffer {
  const field = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  return Buffer.concat([Buffer.from([1, 0]), field(Buffer.from('host')), field(Buffer.from(number)), field(Buffer.from(name)), field(data)]);
}

describe('X display names and cookies', () => {
  it('parses display names', () => {
    expect(parseDisplay(':0')).toEqual({ host: '', display: 0, screen: 0 });
    expect(parseDisplay('localhost:10.1')).toEqual({ host: 'localhost', display: 10, screen: 1 });
    expect(() => parseDisplay(undefined)).toThrow(DisplayError);
    expect(() => parseDisplay('wayland-0')).toThrow(/not an X display name/);
  });

  it('finds the MIT-MAGIC-COOKIE-1 of the display in an Xauthority file', () => {
    const cookie = Buffer.from('0123456789abcdef');
    const file = Buffer.concat([xauthEntry('1', 'MIT-MAGIC-COOKIE-1', Buffer.from('other')), xauthEntry('7', 'MIT-MAGIC-COOKIE-1', cookie)]);
    expect(findCookie(file, 7)).toEqual({ name: 'MIT-MAGIC-COOKIE-1', data: cookie });
    expect(findCookie(file, 3)).toBeNull();
    expect(findCookie(file.subarray(0, 9), 7)).toBeNull(); // truncated: no crash
  });

  it('reads the refusal reason of a failed setup', () => {
    const reason = Buffer.from('No protocol specified');
    const reply = Buffer.concat([Buffer.from([0, reason.length, 11, 0, 0, 0, 6, 0]), reason]);
    expect(() => parseSetupReply(reply, 0)).toThrow('the X server refused the connection: No protocol specified');
  });
});

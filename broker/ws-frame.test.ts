import { describe, expect, it } from 'vitest';
// ws's own framing, to compare against (ws exports its Sender; its types do not list Sender.frame).
import * as ws from 'ws';
import { wsBinaryFrame } from './ws-frame';

const frameOf = (ws as unknown as { Sender: unknown }).Sender as { frame(data: Buffer, options: object): Buffer[] };

describe('wsBinaryFrame', () => {
  it("matches ws's own frame byte for byte at every length class (7-bit, 16-bit, 64-bit lengths)", () => {
    for (const size of [0, 1, 80, 125, 126, 127, 1000, 65_535, 65_536, 70_000, 1_048_576]) {
      const data = Buffer.alloc(size, size % 251);
      const reference = Buffer.concat(frameOf.frame(data, { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: true }));
      expect(wsBinaryFrame(data).equals(reference)).toBe(true);
    }
  });

  it('gives the same frame for the same buffer and a new one for another buffer with other bytes', () => {
    const a = Buffer.from('one');
    const b = Buffer.from('two');
    expect(wsBinaryFrame(a)).toBe(wsBinaryFrame(a));
    expect(wsBinaryFrame(b).subarray(2).toString()).toBe('two');
    expect(wsBinaryFrame(a).subarray(2).toString()).toBe('one');
  });
});

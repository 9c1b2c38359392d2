import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MoveCoalescer } from './move-coalescer';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('MoveCoalescer', () => {
  it('sends at most hz moves a second and ends on the latest position', () => {
    const sent: number[] = [];
    const moves = new MoveCoalescer<number>(10, (m) => sent.push(m));
    // 1000 moves in one second, one per millisecond
    for (let i = 0; i < 1000; i++) {
      moves.push(i);
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(200);
    expect(sent.length).toBeLessThanOrEqual(11);
    expect(sent.length).toBeGreaterThanOrEqual(10);
    expect(sent[0]).toBe(0); // the first goes at once
    expect(sent.at(-1)).toBe(999); // the last is the latest
    for (let i = 1; i < sent.length; i++) expect(sent[i]!).toBeGreaterThan(sent[i - 1]!);
  });

  it('sends a lone move at once and a burst\'s last move one interval later', () => {
    const sent: string[] = [];
    const moves = new MoveCoalescer<string>(60, (m) => sent.push(m));
    moves.push('a');
    expect(sent).toEqual(['a']);
    moves.push('b');
    moves.push('c');
    expect(sent).toEqual(['a']);
    vi.advanceTimersByTime(17);
    expect(sent).toEqual(['a', 'c']);
    expect(moves.received).toBe(3);
    expect(moves.sent).toBe(2);
  });

  it('flush sends the waiting move now, so a click never overtakes it', () => {
    const sent: string[] = [];
    const moves = new MoveCoalescer<string>(1, (m) => sent.push(m));
    moves.push('a');
    moves.push('b');
    moves.flush();
    expect(sent).toEqual(['a', 'b']);
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual(['a', 'b']);
  });

  it('hz 0 sends every move', () => {
    const sent: number[] = [];
    const moves = new MoveCoalescer<number>(0, (m) => sent.push(m));
    for (let i = 0; i < 100; i++) moves.push(i);
    expect(sent).toHaveLength(100);
  });

  it('stop drops the waiting move', () => {
    const sent: string[] = [];
    const moves = new MoveCoalescer<string>(10, (m) => sent.push(m));
    moves.push('a');
    moves.push('b');
    moves.stop();
    vi.advanceTimersByTime(1000);
    expect(sent).toEqual(['a']);
  });
});

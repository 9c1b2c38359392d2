import { describe, expect, it } from 'vitest';
import { isMonotonic, niceTicks, tickLabel } from './chart-scale';
import { jsonDiff, MAX_CHANGES } from './json-diff';

// The topic page's helpers: what changed between two JSON payloads, which fields to chart, and the axes.
describe('jsonDiff', () => {
  it('lists fields changed, added and removed, nested and in arrays, by path', () => {
    const before = { t: 21.5, unit: 'C', loc: { room: 'hall', floor: 1 }, list: [1, 2, 3], gone: true };
    const after = { t: 22, unit: 'C', loc: { room: 'kitchen', floor: 1 }, list: [1, 5], extra: { a: null } };
    expect(jsonDiff(before, after)).toEqual([
      { path: 't', kind: 'changed', before: '21.5', after: '22' },
      { path: 'loc.room', kind: 'changed', before: '"hall"', after: '"kitchen"' },
      { path: 'list[1]', kind: 'changed', before: '2', after: '5' },
      { path: 'extra.a', kind: 'added', after: 'null' },
      { path: 'list[2]', kind: 'removed', before: '3' },
      { path: 'gone', kind: 'removed', before: 'true' },
    ]);
  });

  it('says nothing changed for equal payloads, and compares a whole value that changed type', () => {
    expect(jsonDiff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    expect(jsonDiff(1, 2)).toEqual([{ path: '', kind: 'changed', before: '1', after: '2' }]);
    expect(jsonDiff({ a: {} }, { a: 1 })).toEqual([{ path: 'a', kind: 'changed', before: '{}', after: '1' }]);
    expect(jsonDiff({ a: { b: 1 } }, { a: 1 })).toEqual([
      { path: 'a', kind: 'added', after: '1' },
      { path: 'a.b', kind: 'removed', before: '1' },
    ]);
  });

  it('lists at most MAX_CHANGES changes of two big payloads', () => {
    const big = (v: number) => Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, v]));
    expect(jsonDiff(big(1), big(2))).toHaveLength(MAX_CHANGES);
  });
});

describe('charts', () => {
  it('takes fields that only grow, or are named like a clock or counter, as monotonic', () => {
    expect(isMonotonic('ts', [5, 1])).toBe(true);
    expect(isMonotonic('meta.startedAt', [])).toBe(true);
    expect(isMonotonic('SEQ', [])).toBe(true);
    const rising = Array.from({ length: 10 }, (_, i) => i * 1.5);
    expect(isMonotonic('uptime_s', rising)).toBe(true);
    // Too few values to tell a counter from a reading that happened to rise.
    expect(isMonotonic('uptime_s', rising.slice(1))).toBe(false);
    expect(isMonotonic('energy', [...rising, rising.at(-1)!])).toBe(false);
    expect(isMonotonic('temp', [...rising, 1])).toBe(false);
    expect(isMonotonic('temp', Array(20).fill(3))).toBe(false);
    expect(isMonotonic('timestamp2', [9, 8, 7])).toBe(false);
  });

  it('puts round ticks around the values, and labels them without float noise', () => {
    expect(niceTicks(0, 100, 4)).toEqual([0, 50, 100]);
    expect(niceTicks(3, 97, 4)).toEqual([0, 50, 100]);
    expect(niceTicks(0.1, 0.7, 4)).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(niceTicks(-12, 7, 4)).toEqual([-15, -10, -5, 0, 5, 10]);
    const flat = niceTicks(20, 20, 4);
    expect(flat[0]).toBeLessThan(20);
    expect(flat.at(-1)).toBeGreaterThan(20);
    expect(niceTicks(-0.6, 0, 4)).toEqual([-0.6, -0.4, -0.2, 0]); // not -5.6e-17 for the last
    expect(niceTicks(-0.07, 0, 4)).toEqual([-0.08, -0.06, -0.04, -0.02, 0]);
    expect(niceTicks(NaN, 1)).toEqual([]);
    expect(tickLabel(0.30000000000000004)).toBe('0.3');
    expect(tickLabel(1_700_000_000_000)).toBe('1.7e+12');
    expect(tickLabel(0)).toBe('0');
  });
});

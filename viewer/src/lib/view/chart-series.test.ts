import { describe, expect, it } from 'vitest';
import { chartedFields, fieldSeries, inRange, nearestPoint } from './chart-series';

// Issue 29, item 13: a time range for the topic page's charts, and which fields are charted (alone or together).
const T = 1_700_000_000_000;
const message = (secondsAgo: number, numbers: Record<string, number>) => ({ at: T - secondsAgo * 1000, numbers });

describe('chart series', () => {
  it("gives each numeric field its points oldest first, from messages newest first, fields missing in some messages too", () => {
    const series = fieldSeries([message(1, { a: 3, b: 30 }), message(2, { a: 2 }), message(3, { a: 1, b: 10 })]);
    expect([...series.keys()]).toEqual(['a', 'b']);
    expect(series.get('a')!.map((p) => p.value)).toEqual([1, 2, 3]);
    expect(series.get('b')).toEqual([
      { at: T - 3000, value: 10 },
      { at: T - 1000, value: 30 },
    ]);
  });

  it('keeps only the points of the range ending now, the ends included; "all kept" keeps every one', () => {
    const points = [...fieldSeries([message(0, { v: 4 }), message(60, { v: 3 }), message(61, { v: 2 }), message(900, { v: 1 })]).get('v')!];
    expect(inRange(points, 'last 1 min', T).map((p) => p.value)).toEqual([3, 4]);
    expect(inRange(points, 'last 10 min', T).map((p) => p.value)).toEqual([2, 3, 4]);
    expect(inRange(points, 'all kept', T).map((p) => p.value)).toEqual([1, 2, 3, 4]);
    expect(inRange(points, 'last 1 min', T + 10 * 60_000)).toEqual([]); // a topic gone quiet: nothing in the range
    expect(inRange(points, 'last 1 min', T - 30_000).map((p) => p.value)).toEqual([2, 3]); // nothing from after now
  });

  it('charts the fields turned on, and by default those that do not only grow, in their order', () => {
    const series = fieldSeries(Array.from({ length: 12 }, (_, i) => message(12 - i, { temp: 20 + (i % 3), ts: T + i, seq: i % 2, rising: i })).reverse());
    expect(chartedFields(series, new Map())).toEqual(['temp']);
    expect(chartedFields(series, new Map([['rising', true], ['temp', false]]))).toEqual(['rising']);
    expect(chartedFields(series, new Map([['ts', true], ['seq', true]]))).toEqual(['temp', 'ts', 'seq']);
  });

  it('hovers the point nearest in time, and of two in the same millisecond the later one', () => {
    const points = [{ at: 100, value: 1 }, { at: 200, value: 2 }, { at: 200, value: 3 }];
    expect(nearestPoint(points, 120)?.value).toBe(1);
    expect(nearestPoint(points, 190)?.value).toBe(3);
    expect(nearestPoint(points, 500)?.value).toBe(3);
    expect(nearestPoint([], 500)).toBeUndefined();
  });
});

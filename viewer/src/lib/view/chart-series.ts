import { MAX_NUMERIC_FIELDS } from '../state/payload-format';
import { isMonotonic } from './chart-scale';

/** One point of a chart: when the message came, and the field's value in it. */
export interface ChartPoint {
  at: number;
  value: number;
}

/** The time ranges a topic's charts offer; null is every message the page keeps of the topic. */
export const CHART_RANGES = [
  { label: 'all kept', ms: null },
  { label: 'last 10 min', ms: 10 * 60_000 },
  { label: 'last 1 min', ms: 60_000 },
] as const;

export type ChartRange = (typeof CHART_RANGES)[number]['label'];

/** Each numeric field's points, oldest first, from messages given newest first; at most MAX_NUMERIC_FIELDS fields. */
export function fieldSeries(messages: readonly { at: number; numbers: Record<string, number> }[]): Map<string, ChartPoint[]> {
  const out = new Map<string, ChartPoint[]>();
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    for (const [field, value] of Object.entries(m.numbers)) {
      let points = out.get(field);
      if (!points) {
        if (out.size >= MAX_NUMERIC_FIELDS) continue;
        out.set(field, (points = []));
      }
      points.push({ at: m.at, value });
    }
  }
  return out;
}

/**
 * The point of `points` (oldest first) nearest in time to `at`; of points at the same time, the later one: two
 * messages can come in the same millisecond, and the value shown is then the one that came last.
 */
export function nearestPoint(points: readonly ChartPoint[], at: number): ChartPoint | undefined {
  let best: ChartPoint | undefined;
  for (const p of points) if (!best || Math.abs(p.at - at) <= Math.abs(best.at - at)) best = p;
  return best;
}

/** The points of the range ending at `now` (all of them for 'all kept'). */
export function inRange(points: readonly ChartPoint[], range: ChartRange, now: number): ChartPoint[] {
  const ms = CHART_RANGES.find((r) => r.label === range)?.ms ?? null;
  return ms === null ? [...points] : points.filter((p) => p.at >= now - ms && p.at <= now);
}

/**
 * The fields to chart, in the series' order: those the person turned on, and the others unless they were turned
 * off or only grow (ts, seq, counters say nothing on a chart).
 */
export function chartedFields(series: ReadonlyMap<string, readonly ChartPoint[]>, chosen: ReadonlyMap<string, boolean>): string[] {
  return [...series.keys()].filter((field) => chosen.get(field) ?? !isMonotonic(field, series.get(field)!.map((p) => p.value)));
}

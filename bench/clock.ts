import type { SubResult } from './load';

/** Milliseconds on the host's monotonic clock (CLOCK_MONOTONIC): the same clock in every process on this machine. */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Merges the latency quantiles of several subscriber processes, each weighted by its sample count. */
export function mergedPercentile(results: SubResult[], p: number): number {
  const weighted: [number, number][] = [];
  for (const r of results) {
    if (!r.latencySamples) continue;
    for (const v of r.latencyPoints) weighted.push([v, r.latencySamples / r.latencyPoints.length]);
  }
  if (weighted.length === 0) return NaN;
  weighted.sort((a, b) => a[0] - b[0]);
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  let acc = 0;
  for (const [v, w] of weighted) {
    acc += w;
    if (acc >= (p / 100) * total) return v;
  }
  return weighted.at(-1)![0];
}


/** Milliseconds on the host's monotonic clock (CLOCK_MONOTONIC): the same clock in every process on this machine. */
export function monoMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Field names that count time or messages: they only grow, and a chart of them says nothing. */
const COUNTER_NAMES = new Set(['ts', 'seq', 'time', 'timestamp', 'startedat', 'uptime', 'id', 'counter', 'count']);

const TREND_VALUES = 10;

/**
 * Whether a numeric field only ever grows (a clock, a sequence number): by its name (its last level, any
 * case), or by its values: at least TREND_VALUES, each bigger than the one before (a reading that stays
 * level a while is not a counter; a temperature may well rise three times in a row).
 */
export function isMonotonic(field: string, values: readonly number[]): boolean {
  if (COUNTER_NAMES.has(field.split('.').at(-1)!.toLowerCase())) return true;
  if (values.length < TREND_VALUES) return false;
  for (let i = 1; i < values.length; i++) if (values[i]! <= values[i - 1]!) return false;
  return true;
}

/**
 * About `count` round tick values (1, 2 or 5 times a power of ten apart) that cover min..max; a flat series
 * gets a span around its value.
 */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) {
    const pad = Math.abs(min) / 10 || 1;
    min -= pad;
    max += pad;
  }
  const rough = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  // Adding the step again and again leaves float noise: a tick meant to be 0 can come out as 5.6e-17.
  const round = (v: number) => (Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(round(v));
  if (ticks[0]! > min) ticks.unshift(round(ticks[0]! - step));
  if (ticks.at(-1)! < max) ticks.push(round(ticks.at(-1)! + step));
  return ticks;
}

/** A tick label: short, without float noise (0.30000000000000004 reads 0.3). */
export function tickLabel(v: number): string {
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(1);
  return String(Number(v.toPrecision(6)));
}

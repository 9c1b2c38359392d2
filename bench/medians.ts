/** A case's figures over its repeats: the runs that count, and the median with its spread. */
import type { Row } from './run';

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One broker's runs of one case. A run flagged because a load process or another process was busy is left out;
 * when every run is flagged, all of them are used and `clean` says 0. `failed` counts the runs that ended in an error.
 */
export function caseRuns(rows: Row[], broker: string, scenario: string, transport: string): { used: Row[]; clean: number; all: number; failed: number } {
  const mine = rows.filter((r) => r.broker === broker && r.scenario === scenario && r.transport === transport);
  const all = mine.filter((r) => !r.error);
  const clean = all.filter((r) => !r.flagged);
  return { used: clean.length > 0 ? clean : all, clean: clean.length, all: all.length, failed: mine.length - all.length };
}

/** The median (and min, max) of one figure over the runs, or null when none has it. */
export function spreadOf(used: Row[], key: string): Spread | null {
  const values = used.map((r) => r[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return values.length ? { median: median(values), min: Math.min(...values), max: Math.max(...values) } : null;
}

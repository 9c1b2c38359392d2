/** Capture-to-screen latency is measured over this window. */
export const LATENCY_WINDOW_MS = 10_000;
/** A window whose fastest event took longer than this says more about the clocks than about the network. */
export const CLOCKS_SUSPECT_MS = 1000;
const MAX_SAMPLES = 5000;

/** A device's latency over the last LATENCY_WINDOW_MS; `clocksDifferMs` instead of figures when they make no sense. */
export interface LatencyFigures {
  device: string;
  samples: number;
  p50: number;
  p95: number;
  max: number;
  /** About how far the device's clock is from this page's (the least `receive - ts`), when the figures cannot be latencies. */
  clocksDifferMs: number | null;
}

/**
 * Per device: `receive time - ts` of its events. On one machine that is the real latency; between two, it
 * is latency plus the clocks' difference, so when the fastest event of the window is negative (ts from the
 * future) or slower than CLOCKS_SUSPECT_MS, the least value estimates the difference and is shown instead.
 */
export class LatencyMeter {
  private readonly samples = new Map<string, { at: number; latency: number }[]>();
  private readonly changed = new Set<string>();

  add(device: string, ts: number, receivedAt: number): void {
    let list = this.samples.get(device);
    if (!list) this.samples.set(device, (list = []));
    list.push({ at: receivedAt, latency: receivedAt - ts });
    if (list.length > MAX_SAMPLES) list.shift();
    this.changed.add(device);
  }

  /**
   * Figures of the devices that had events since the last call, over the window before each one's newest
   * event (its receive time: in a recording played back, when the recorder received it).
   */
  takeChanges(): LatencyFigures[] {
    const out: LatencyFigures[] = [];
    for (const device of this.changed) {
      const list = this.samples.get(device)!;
      const newest = list[list.length - 1]!.at;
      while (newest - list[0]!.at > LATENCY_WINDOW_MS) list.shift();
      out.push(figures(device, list.map((s) => s.latency)));
    }
    this.changed.clear();
    return out;
  }
}

/** Percentiles by nearest rank of one window's latencies. */
export function figures(device: string, latencies: number[]): LatencyFigures {
  const sorted = latencies.slice().sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  const least = sorted[0]!;
  const clocksDiffer = least < 0 || least > CLOCKS_SUSPECT_MS;
  return {
    device,
    samples: sorted.length,
    p50: rank(0.5),
    p95: rank(0.95),
    max: sorted[sorted.length - 1]!,
    clocksDifferMs: clocksDiffer ? Math.abs(least) : null,
  };
}

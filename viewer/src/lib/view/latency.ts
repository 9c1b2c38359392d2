import { LATENCY_WINDOW_MS, type LatencyFigures } from '../worker/latency';
import { FrameSignal, TEXT_EVERY_MS } from './frame-signal';

/**
 * The latest latency figures per device, from the worker's frames (text: re-rendered a few times a second).
 * The worker sends a device's figures only when it has events, so figures older than the window are of a device
 * that stopped: they are not shown ("last 10 s"), instead of the last ones staying for as long as the page is open.
 */
export class LatencyTable {
  private readonly figures = new Map<string, { figures: LatencyFigures; at: number }>();
  private readonly signal = new FrameSignal(TEXT_EVERY_MS);

  /** `now`: when the page got them. */
  apply(changed: readonly LatencyFigures[], now: number): void {
    for (const f of changed) this.figures.set(f.device, { figures: f, at: now });
    if (changed.length > 0) this.signal.changed();
  }

  /** The device's figures, unless none came within the window before `now`. */
  get(device: string, now: number): LatencyFigures | undefined {
    this.signal.track();
    const kept = this.figures.get(device);
    return kept && now - kept.at <= LATENCY_WINDOW_MS ? kept.figures : undefined;
  }
}

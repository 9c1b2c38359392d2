import type { LatencyFigures } from '../worker/latency';
import { FrameSignal, TEXT_EVERY_MS } from './frame-signal';

/** The latest latency figures per device, from the worker's frames (text: re-rendered a few times a second). */
export class LatencyTable {
  private readonly figures = new Map<string, LatencyFigures>();
  private readonly signal = new FrameSignal(TEXT_EVERY_MS);

  apply(changed: readonly LatencyFigures[]): void {
    for (const f of changed) this.figures.set(f.device, f);
    if (changed.length > 0) this.signal.changed();
  }

  get(device: string): LatencyFigures | undefined {
    this.signal.track();
    return this.figures.get(device);
  }
}

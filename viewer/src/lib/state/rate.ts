/** A RateMeter's counts as plain data, to cross from the worker to the page. */
export interface RateState {
  buckets: number[];
  bucketStart: number;
}

/** Events per second over a sliding window, from a small ring of per-second buckets. */
export class RateMeter {
  private buckets: number[];
  private bucketStart = 0;

  constructor(private readonly windowSeconds = 5) {
    this.buckets = new Array(windowSeconds).fill(0);
  }

  /** The page's copy of a meter counted in the worker: it reads the rate as time goes on. */
  static from(state: RateState): RateMeter {
    const meter = new RateMeter(state.buckets.length);
    meter.buckets = state.buckets.slice();
    meter.bucketStart = state.bucketStart;
    return meter;
  }

  state(): RateState {
    return { buckets: this.buckets.slice(), bucketStart: this.bucketStart };
  }

  add(now: number, count = 1): void {
    this.advance(now);
    this.buckets[this.buckets.length - 1]! += count;
  }

  /** Events per second over the last full window. */
  perSecond(now: number): number {
    this.advance(now);
    return this.buckets.reduce((a, b) => a + b, 0) / this.windowSeconds;
  }

  private advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (this.bucketStart === 0) this.bucketStart = second;
    // A reader's clock may lag the last event: time never moves the window backwards.
    if (second <= this.bucketStart) return;
    const steps = Math.min(second - this.bucketStart, this.windowSeconds);
    for (let i = 0; i < steps; i++) {
      this.buckets.shift();
      this.buckets.push(0);
    }
    this.bucketStart = second;
  }
}

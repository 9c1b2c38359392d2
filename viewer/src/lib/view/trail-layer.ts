import { TRAIL_MS } from '../state/devices';

export interface TrailPoint {
  x: number;
  y: number;
  at: number;
}

/** One device's trail and how its screen maps onto the canvas. */
export interface TrailSource {
  id: string;
  trail: readonly TrailPoint[];
  scaleX: number;
  scaleY: number;
}

/** The fade's time constant: a segment TRAIL_MS old is at e^-4 (2%), and the layer is cleared once nothing moves. */
const FADE_MS = TRAIL_MS / 4;
const SHADES = 6;
const COLOUR = '148, 163, 184';

/**
 * The pointers' fading trails, drawn incrementally on a canvas of their own. Each frame fades what is already there
 * by the time since the last frame (one composite fill) and strokes only the segments that arrived since, instead
 * of clearing and stroking every trail again. Every TRAIL_MS, and when the size or the devices change, the layer is
 * redrawn whole from the points: repeated fading in 8-bit alpha leaves faint remains, and this clears them.
 */
export class TrailLayer {
  /** Per device, the last point drawn. */
  private readonly lastDrawn = new Map<string, TrailPoint>();
  private lastFrameAt = 0;
  private lastFullAt = -Infinity;
  private shape = '';

  /** The canvas was resized (which clears it): the next frame draws every trail again. */
  invalidate(): void {
    this.shape = '';
  }

  /** Draws this frame; returns whether a trail is still fading (so another frame is needed). */
  draw(ctx: CanvasRenderingContext2D, width: number, height: number, sources: readonly TrailSource[], now: number): boolean {
    const live = sources.some((s) => s.trail.length > 1 && now - s.trail[s.trail.length - 1]!.at < TRAIL_MS);
    if (!live) {
      if (this.lastFrameAt) ctx.clearRect(0, 0, width, height);
      this.lastFrameAt = 0;
      this.shape = '';
      return false;
    }
    const shape = `${width}x${height}|${sources.map((s) => `${s.id}:${s.scaleX}:${s.scaleY}`).join(',')}`;
    if (shape !== this.shape || now - this.lastFullAt >= TRAIL_MS || !this.lastFrameAt) this.drawWhole(ctx, width, height, sources, now);
    else this.drawNew(ctx, width, height, sources, now);
    this.shape = shape;
    this.lastFrameAt = now;
    return true;
  }

  private drawWhole(ctx: CanvasRenderingContext2D, width: number, height: number, sources: readonly TrailSource[], now: number): void {
    ctx.clearRect(0, 0, width, height);
    ctx.lineWidth = 2;
    for (const s of sources) {
      // A handful of strokes, one per shade, however long the trail is.
      let shade = 0;
      for (let i = 1; i < s.trail.length; i++) {
        const a = s.trail[i - 1]!;
        const b = s.trail[i]!;
        const age = now - b.at;
        if (age >= TRAIL_MS) continue;
        const step = Math.ceil(Math.exp(-age / FADE_MS) * SHADES);
        if (step !== shade) {
          if (shade > 0) ctx.stroke();
          shade = step;
          ctx.strokeStyle = `rgba(${COLOUR}, ${(step / SHADES).toFixed(2)})`;
          ctx.beginPath();
          ctx.moveTo(a.x * s.scaleX, a.y * s.scaleY);
        }
        ctx.lineTo(b.x * s.scaleX, b.y * s.scaleY);
      }
      if (shade > 0) ctx.stroke();
      this.remember(s);
    }
    this.lastFullAt = now;
  }

  private drawNew(ctx: CanvasRenderingContext2D, width: number, height: number, sources: readonly TrailSource[], now: number): void {
    ctx.globalCompositeOperation = 'destination-out';
    ctx.fillStyle = `rgba(0, 0, 0, ${(1 - Math.exp(-(now - this.lastFrameAt) / FADE_MS)).toFixed(3)})`;
    ctx.fillRect(0, 0, width, height);
    ctx.globalCompositeOperation = 'source-over';
    ctx.lineWidth = 2;
    ctx.strokeStyle = `rgb(${COLOUR})`;
    for (const s of sources) {
      const from = this.firstNew(s);
      if (from < s.trail.length) {
        ctx.beginPath();
        const start = s.trail[Math.max(0, from - 1)]!;
        ctx.moveTo(start.x * s.scaleX, start.y * s.scaleY);
        for (let i = from; i < s.trail.length; i++) ctx.lineTo(s.trail[i]!.x * s.scaleX, s.trail[i]!.y * s.scaleY);
        ctx.stroke();
      }
      this.remember(s);
    }
  }

  /** The index of the first point not drawn yet: the one after the last point drawn, found from the end. */
  private firstNew(s: TrailSource): number {
    const last = this.lastDrawn.get(s.id);
    if (!last) return 0;
    for (let i = s.trail.length - 1; i >= 0; i--) {
      const p = s.trail[i]!;
      if (p.at < last.at) return i + 1;
      if (p.at === last.at && p.x === last.x && p.y === last.y) return i + 1;
    }
    return 0;
  }

  private remember(s: TrailSource): void {
    const last = s.trail[s.trail.length - 1];
    if (last) this.lastDrawn.set(s.id, last);
  }
}

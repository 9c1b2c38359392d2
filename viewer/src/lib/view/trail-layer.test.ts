import { describe, expect, it } from 'vitest';
import { TRAIL_MS } from '../state/devices';
import { TrailLayer, type TrailPoint } from './trail-layer';

/** A 2D context that records what is drawn: enough to count the work a frame does (no canvas in Node). */
function recordingContext() {
  const calls: string[] = [];
  const ctx = {
    lineWidth: 0,
    strokeStyle: '',
    fillStyle: '',
    globalCompositeOperation: 'source-over',
    clearRect: () => calls.push('clear'),
    fillRect: () => calls.push(`fill ${ctx.globalCompositeOperation}`),
    beginPath: () => calls.push('begin'),
    moveTo: () => calls.push('move'),
    lineTo: () => calls.push('line'),
    stroke: () => calls.push('stroke'),
  };
  return { ctx: ctx as unknown as CanvasRenderingContext2D, calls, take: () => calls.splice(0) };
}

const points = (from: number, count: number, at: number): TrailPoint[] => Array.from({ length: count }, (_, i) => ({ x: from + i, y: from + i, at }));
const source = (trail: TrailPoint[]) => [{ id: 'laptop', trail, scaleX: 1, scaleY: 1 }];

describe('TrailLayer', () => {
  it('draws the whole trail once, then each frame only fades it and strokes the new segments', () => {
    const layer = new TrailLayer();
    const { ctx, take } = recordingContext();
    const t0 = 1_000_000;
    const trail = points(0, 100, t0);
    expect(layer.draw(ctx, 640, 360, source(trail), t0)).toBe(true);
    const first = take();
    expect(first[0]).toBe('clear');
    expect(first.filter((c) => c === 'line')).toHaveLength(99);

    trail.push(...points(100, 3, t0 + 16)); // three new points
    expect(layer.draw(ctx, 640, 360, source(trail), t0 + 16)).toBe(true);
    const next = take();
    expect(next).not.toContain('clear');
    expect(next[0]).toBe('fill destination-out'); // the fade
    expect(next.filter((c) => c === 'line')).toHaveLength(3); // from the last drawn point through the three new ones
  });

  it('redraws whole every TRAIL_MS, on a resize and for a new device, and clears once nothing moves', () => {
    const layer = new TrailLayer();
    const { ctx, take } = recordingContext();
    const t0 = 2_000_000;
    let trail = points(0, 10, t0);
    layer.draw(ctx, 640, 360, source(trail), t0);
    take();
    trail = [...trail, ...points(10, 1, t0 + TRAIL_MS / 2)];
    layer.draw(ctx, 640, 360, source(trail), t0 + TRAIL_MS / 2);
    expect(take()).not.toContain('clear');
    trail = [...trail, ...points(11, 1, t0 + TRAIL_MS)];
    layer.draw(ctx, 640, 360, source(trail), t0 + TRAIL_MS);
    expect(take()[0]).toBe('clear'); // the periodic whole redraw
    layer.draw(ctx, 800, 450, source(trail), t0 + TRAIL_MS + 16);
    expect(take()[0]).toBe('clear'); // resized
    layer.draw(ctx, 800, 450, [...source(trail), { id: 'pi', trail: points(0, 2, t0 + TRAIL_MS), scaleX: 1, scaleY: 1 }], t0 + TRAIL_MS + 32);
    expect(take()[0]).toBe('clear'); // another device
    // Nothing newer than TRAIL_MS: cleared, and no more frames wanted.
    expect(layer.draw(ctx, 800, 450, source(trail), t0 + 3 * TRAIL_MS)).toBe(false);
    expect(take()).toEqual(['clear']);
    expect(layer.draw(ctx, 800, 450, source(trail), t0 + 3 * TRAIL_MS + 16)).toBe(false);
    expect(take()).toEqual([]); // already clear
  });
});

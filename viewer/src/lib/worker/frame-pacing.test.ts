import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Report } from '../bridge';
import { FRAME_MS, LiveConnection, UNPAINTED_FRAME_MS } from './live-connection';

const move = (i: number) => new TextEncoder().encode(JSON.stringify({ x: i, y: i, ts: i, seq: i }));

describe('frame pacing', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  function setUp() {
    const frames: Report[] = [];
    const live = new LiveConnection((report) => report.type === 'frame' && frames.push(report));
    return { live, frames, receive: (i: number) => live.receive('devices/d/mouse/move', move(i), false) };
  }

  it('sends changes on its own timer until the page says it paints', () => {
    const { frames, receive } = setUp();
    for (let i = 0; i < 10; i++) receive(i);
    expect(frames).toHaveLength(0);
    vi.advanceTimersByTime(FRAME_MS);
    expect(frames).toHaveLength(1);
  });

  it('then sends one frame per "painted", at once if changes wait, and never two without one', async () => {
    const { live, frames, receive } = setUp();
    receive(0);
    vi.advanceTimersByTime(FRAME_MS);
    expect(frames).toHaveLength(1);
    receive(1);
    live.handle({ type: 'painted' }); // changes were waiting: sent now
    expect(frames).toHaveLength(2);
    for (let i = 2; i < 50; i++) receive(i); // the page has not painted since: they wait
    vi.advanceTimersByTime(FRAME_MS * 5);
    expect(frames).toHaveLength(2);
    live.handle({ type: 'painted' });
    expect(frames).toHaveLength(3);
    live.handle({ type: 'painted' }); // painted with nothing waiting: the next change goes at the end of its task
    receive(50);
    receive(51);
    expect(frames).toHaveLength(3);
    await Promise.resolve();
    expect(frames).toHaveLength(4);
  });

  it('still sends, slowly, while the page paints nothing (a hidden tab), so nothing piles up', async () => {
    const { live, frames, receive } = setUp();
    receive(0);
    vi.advanceTimersByTime(FRAME_MS);
    live.handle({ type: 'painted' });
    receive(1);
    await Promise.resolve();
    const before = frames.length;
    expect(before).toBe(2);
    receive(2); // no 'painted' after the last frame
    vi.advanceTimersByTime(UNPAINTED_FRAME_MS - 1);
    expect(frames).toHaveLength(before);
    vi.advanceTimersByTime(1);
    expect(frames).toHaveLength(before + 1);
  });
});

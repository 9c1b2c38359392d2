import { describe, expect, it } from 'vitest';
import { connectFigures } from './connect-figures';
import type { ConnectResult } from './load';

const result = (r: Partial<ConnectResult> & Pick<ConnectResult, 'latencies'>): ConnectResult => ({
  connected: r.latencies.length,
  firstConnectAt: 0,
  lastConnackAt: 0,
  startedAt: 0,
  cpuSeconds: 0,
  ...r,
});

describe('connectFigures', () => {
  it('takes the window from the first CONNECT of any process to the last CONNACK of any, and ranks every latency together', () => {
    // Process A connected early and fast, B late and slow: neither's own window or percentiles is the run's.
    const a = result({ latencies: Array.from({ length: 90 }, () => 1), startedAt: 995, firstConnectAt: 1000, lastConnackAt: 1200, cpuSeconds: 0.1 });
    const b = result({ latencies: Array.from({ length: 10 }, (_, i) => 50 + i), startedAt: 1000, firstConnectAt: 1100, lastConnackAt: 1500, cpuSeconds: 0.05 });
    const f = connectFigures([b, a]);
    expect(f.connected).toBe(100);
    expect(f.windowMs).toBe(500);
    expect(f.connectsPerSec).toBe(200);
    expect(f.p50ms).toBe(1);
    expect(f.p95ms).toBe(54);
    expect(f.p99ms).toBe(58);
    expect(f.maxMs).toBe(59);
    // 0.15 s of CPU over the 505 ms from the first "go" to the last CONNACK; A alone: 0.1 s over its 205 ms.
    expect(f.genCpuPct).toBeCloseTo((100 * 0.15) / 0.505, 6);
    expect(f.genCpuMaxPct).toBeCloseTo((100 * 0.1) / 0.205, 6);
  });

  it('gives no rate rather than a false one when nothing connected', () => {
    const f = connectFigures([result({ latencies: [], firstConnectAt: Infinity, lastConnackAt: -Infinity })]);
    expect(f.connected).toBe(0);
    expect(f.connectsPerSec).toBeNaN();
    expect(f.p99ms).toBeNaN();
  });
});

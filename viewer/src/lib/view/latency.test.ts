import { describe, expect, it } from 'vitest';
import { LATENCY_WINDOW_MS, LatencyMeter } from '../worker/latency';
import { LatencyTable } from './latency';

describe('the Latency panel\'s window', () => {
  it('shows a device\'s figures while it has events in the window, and none once it stopped (they stayed 5 minutes on)', () => {
    const meter = new LatencyMeter();
    const table = new LatencyTable();
    const t0 = 1_000_000;
    for (let i = 0; i < 10; i++) meter.add('laptop', t0 + i * 100 - 5, t0 + i * 100);
    table.apply(meter.takeChanges(), t0 + 1000);
    expect(table.get('laptop', t0 + 1000)).toMatchObject({ samples: 10, p50: 5 });
    expect(table.get('laptop', t0 + 1000 + LATENCY_WINDOW_MS)).toBeDefined();
    // Nothing more from it: the worker sends no new figures, and the old ones leave with the window.
    expect(table.get('laptop', t0 + 1001 + LATENCY_WINDOW_MS)).toBeUndefined();
    expect(table.get('laptop', t0 + 5 * 60_000)).toBeUndefined();
    // Back 5 minutes later: only the new event counts.
    meter.add('laptop', t0 + 5 * 60_000 - 20, t0 + 5 * 60_000);
    table.apply(meter.takeChanges(), t0 + 5 * 60_000);
    expect(table.get('laptop', t0 + 5 * 60_000)).toMatchObject({ samples: 1, p50: 20 });
  });
});

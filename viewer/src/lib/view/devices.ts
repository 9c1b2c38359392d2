import type { DeviceChanges, DeviceSnapshot } from '../state/devices';
import { RateMeter } from '../state/rate';
import { FrameSignal } from './frame-signal';

/** A device as the page shows it: the worker's snapshot, its rate readable as time goes on. */
export type DeviceView = Omit<DeviceSnapshot, 'rate'> & { rate: RateMeter };

/** The page's devices, from the worker's per-frame changes. */
export class DeviceList {
  private readonly devices = new Map<string, DeviceView>();
  private readonly signal = new FrameSignal();
  private sorted: DeviceView[] | null = null;

  apply(changes: DeviceChanges): void {
    for (const d of changes.changed) this.devices.set(d.id, { ...d, rate: RateMeter.from(d.rate) });
    for (const id of changes.removed) this.devices.delete(id);
    if (changes.changed.length + changes.removed.length === 0) return;
    this.sorted = null;
    this.signal.changed();
  }

  /**
   * Sorted by id; a device is a new object after each change, since the page's renderer only re-reads an item
   * whose identity changed; the same array until the next change, however many panels ask.
   */
  list(): readonly DeviceView[] {
    this.signal.track();
    this.sorted ??= [...this.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
    return this.sorted;
  }

  get(id: string): DeviceView | undefined {
    return this.devices.get(id);
  }
}

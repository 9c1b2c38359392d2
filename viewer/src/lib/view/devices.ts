import type { DeviceChanges, DeviceSnapshot } from '../state/devices';
import { RateMeter } from '../state/rate';
import { FrameSignal, TEXT_EVERY_MS } from './frame-signal';

/** A device as the page shows it: the worker's snapshot, its rate readable as time goes on. */
export type DeviceView = Omit<DeviceSnapshot, 'rate'> & { rate: RateMeter };

/** The page's devices, from the worker's per-frame changes. */
export class DeviceList {
  private readonly devices = new Map<string, DeviceView>();
  private readonly signal = new FrameSignal();
  /** For text about the devices (the device panel, labels): a few times a second is all one can read. */
  private readonly textSignal = new FrameSignal(TEXT_EVERY_MS);
  private sortedCache: DeviceView[] | null = null;

  apply(changes: DeviceChanges): void {
    for (const d of changes.changed) this.devices.set(d.id, { ...d, rate: RateMeter.from(d.rate) });
    for (const id of changes.removed) this.devices.delete(id);
    if (changes.changed.length + changes.removed.length === 0) return;
    this.sortedCache = null;
    this.signal.changed();
    this.textSignal.changed();
  }

  /**
   * Sorted by id; a device is a new object after each change, since the page's renderer only re-reads an item
   * whose identity changed; the same array until the next change, however many panels ask.
   */
  list(): readonly DeviceView[] {
    this.signal.track();
    return this.sorted();
  }

  /** The same list, for panels of text: their readers re-render at most every TEXT_EVERY_MS. */
  listForText(): readonly DeviceView[] {
    this.textSignal.track();
    return this.sorted();
  }

  private sorted(): DeviceView[] {
    this.sortedCache ??= [...this.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
    return this.sortedCache;
  }

  get(id: string): DeviceView | undefined {
    return this.devices.get(id);
  }
}

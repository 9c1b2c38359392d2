import { idProblem, type CheckedMessage, type ContractMessageOfKind, type DeviceMeta, type DeviceStatus, type MouseButton } from '../../../../protocol';
import { RateMeter, type RateState } from './rate';

export interface PointerMark {
  kind: 'click' | 'scroll';
  x: number;
  y: number;
  at: number;
  button?: MouseButton;
  pressed?: boolean;
  dx?: number;
  dy?: number;
}

export interface DeviceState {
  id: string;
  status: DeviceStatus | 'unknown';
  meta: DeviceMeta | null;
  /** When a live message last came from it; null while all it has sent are retained (maybe old) messages. */
  lastSeen: number | null;
  rate: RateMeter;
  pointer: { x: number; y: number } | null;
  /** Recent positions for the fading trail, oldest first. */
  trail: { x: number; y: number; at: number }[];
  /** Recent clicks and scrolls for ripples and marks, oldest first. */
  marks: PointerMark[];
  lastClick: PointerMark | null;
  /** First and highest `seq` of this publisher run, and how many events of it arrived. */
  seqRun: { first: number; max: number; received: number } | null;
  /** Events that gaps in `seq` say were lost (a late one fills its gap again). */
  missed: number;
}

/** What the page gets of a device that changed: its state as plain data (the rate as counts). */
export type DeviceSnapshot = Omit<DeviceState, 'rate' | 'seqRun'> & { rate: RateState };

/** The devices that changed since the last `takeChanges()`, and those forgotten. */
export interface DeviceChanges {
  changed: DeviceSnapshot[];
  removed: string[];
}

/** An accepted message on a mouse topic (`devices/{id}/mouse/move|click|scroll`). */
type MouseMessage = ContractMessageOfKind<'mouse'>;
type RecordOf<M> = M extends { topic: { event: infer E }; payload: infer P } ? { device: string; event: E; payload: P; at: number } : never;

/** A mouse event for the log: its `event` tells its payload's type (a click's has `button`, a scroll's `dy`). */
export type MouseEventRecord = RecordOf<MouseMessage>;

export const TRAIL_MS = 1200;
export const MARK_MS = 1500;
const TRAIL_POINTS = 120;
const MARKS = 50;
export const MAX_DEVICES = 200;
/** Screen sizes from meta are clamped to this many pixels a side: the pointer view is scaled to them. */
export const SCREEN_SIDE = { min: 64, max: 16384 } as const;

function clampSide(n: number): number {
  return Math.min(SCREEN_SIDE.max, Math.max(SCREEN_SIDE.min, Math.round(n)));
}

/**
 * How sure the page is that a device is there, to choose which one to forget when the list is full:
 * 3 heard live and not offline (never forgotten; with or without a status), 2 online by a retained status only,
 * 1 no status and retained messages only, 0 offline.
 */
function presence(status: DeviceState['status'], live: boolean): number {
  if (status === 'offline') return 0;
  if (live) return 3;
  return status === 'online' ? 2 : 1;
}

/** Negative when `a` is to be forgotten before `b`: less present, then retained-only, then silent longer. */
function forgetFirst(a: DeviceState, b: DeviceState): number {
  const heard = (d: DeviceState) => (d.lastSeen === null ? 0 : 1);
  return presence(a.status, heard(a) === 1) - presence(b.status, heard(b) === 1) || heard(a) - heard(b) || (a.lastSeen ?? 0) - (b.lastSeen ?? 0);
}

/**
 * Turns device topics into device state (in the worker): presence from status, details from meta, and the
 * pointer from events. Payloads that break the contract are ignored here (the broker drops them too).
 *
 * Presence is what the device says on `devices/{id}/status` (retained, and `offline` by its will): online only
 * from a status `online`. Anything else it sends live under `devices/{id}/` (a sensor reading, mouse events)
 * shows that it is there and when it was last heard, not that it is online: without a status it has "no status".
 */
export class DeviceRegistry {
  private readonly devices = new Map<string, DeviceState>();
  private readonly changed = new Set<string>();
  private readonly removed = new Set<string>();

  /**
   * Applies one message, checked once by the caller; returns the mouse event it carried, if any, for the log.
   * `retained`: the broker sent it from its store (old news); `cleared`: it clears its topic's retained message.
   */
  apply(topic: string, checked: CheckedMessage, now: number, retained = false, cleared = false): MouseEventRecord | null {
    if (!checked.ok) return null;
    if (checked.pattern === null) {
      // A live message on a free-form topic under devices/{id}/ (a sensor, say) is a sign of life too;
      // a retained one may be old news, and an empty one is a clear: no sign of anything.
      const id = topic.split('/')[1];
      if (!topic.startsWith('devices/') || !id || idProblem(id) !== null) return null;
      if (cleared) return this.leaveIfNothingLeft(id);
      if (!retained) this.touch(this.device(id, presence('unknown', true)), now);
      return null;
    }
    if (checked.pattern === 'clients/+/messages') return null;
    if (checked.cleared) return this.clear(checked.topic.device, checked.topic.kind);
    const status = checked.pattern === 'devices/+/status' ? checked.payload : 'unknown';
    const device = this.device(checked.topic.device, presence(status, !retained));
    if (!device) return null;
    this.changed.add(device.id);
    switch (checked.pattern) {
      case 'devices/+/status':
        device.status = status;
        if (!retained) device.lastSeen = now;
        return null;
      case 'devices/+/meta': {
        const meta = checked.payload;
        if (device.meta && device.meta.startedAt !== meta.startedAt) device.seqRun = null; // a new publisher run
        device.meta = meta.screen ? { ...meta, screen: { width: clampSide(meta.screen.width), height: clampSide(meta.screen.height) } } : meta;
        if (!retained) device.lastSeen = now;
        return null;
      }
      case 'devices/+/mouse/move':
      case 'devices/+/mouse/click':
      case 'devices/+/mouse/scroll':
        return this.pointerEvent(device, checked, now);
    }
  }

  /** A move, click or scroll: the pointer, its trail and its marks; the event for the log. */
  private pointerEvent(device: DeviceState, m: MouseMessage, now: number): MouseEventRecord {
    const { x, y } = m.payload;
    this.touch(device, now);
    this.countSeq(device, m.payload.seq);
    device.pointer = { x, y };
    this.prune(device, now);
    device.trail.push({ x, y, at: now });
    if (device.trail.length > TRAIL_POINTS) device.trail.shift();
    switch (m.pattern) {
      case 'devices/+/mouse/move':
        return { device: device.id, event: 'move', payload: m.payload, at: now };
      case 'devices/+/mouse/click': {
        const mark: PointerMark = { kind: 'click', x, y, at: now, button: m.payload.button, pressed: m.payload.pressed };
        this.addMark(device, mark);
        device.lastClick = mark;
        return { device: device.id, event: 'click', payload: m.payload, at: now };
      }
      case 'devices/+/mouse/scroll':
        this.addMark(device, { kind: 'scroll', x, y, at: now, dx: m.payload.dx, dy: m.payload.dy });
        return { device: device.id, event: 'scroll', payload: m.payload, at: now };
    }
  }

  private addMark(device: DeviceState, mark: PointerMark): void {
    device.marks.push(mark);
    if (device.marks.length > MARKS) device.marks.shift();
  }

  /**
   * An empty retained status or meta (someone cleared it): the device no longer says it is there or what it
   * is; once it has neither it leaves the list (a stale device removed; it comes back if it sends again).
   */
  private clear(id: string, kind: 'status' | 'meta'): null {
    const device = this.devices.get(id);
    if (!device) return null;
    if (kind === 'status') device.status = 'unknown';
    else device.meta = null;
    this.changed.add(id);
    return this.leaveIfNothingLeft(id);
  }

  /**
   * After a clear under devices/{id}/: a device with neither status nor meta has nothing left that says it is
   * there, so it leaves the list (Remove clears everything retained under it; it comes back if it sends again).
   */
  private leaveIfNothingLeft(id: string): null {
    const device = this.devices.get(id);
    if (device && device.status === 'unknown' && device.meta === null) this.forget(id);
    return null;
  }

  /** Takes a device off the list (Remove, when nothing retained keeps it there); it comes back if it sends again. */
  forget(id: string): void {
    if (!this.devices.delete(id)) return;
    this.changed.delete(id);
    this.removed.add(id);
  }

  /** Every device, sorted by id (for tests). */
  list(): readonly DeviceState[] {
    return [...this.devices.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** What changed since the last call, as plain data for the page; trails and marks are short (capped). */
  takeChanges(now: number): DeviceChanges {
    const changed: DeviceSnapshot[] = [];
    for (const id of this.changed) {
      const d = this.devices.get(id);
      if (!d) continue;
      this.prune(d, now);
      const { rate, seqRun: _, ...rest } = d;
      changed.push({ ...rest, trail: d.trail.slice(), marks: d.marks.slice(), rate: rate.state() });
    }
    const removed = [...this.removed];
    this.changed.clear();
    this.removed.clear();
    return { changed, removed };
  }

  get(id: string): DeviceState | undefined {
    return this.devices.get(id);
  }

  /** Drops trail points and marks older than they are drawn for (the rest is capped by count). */
  private prune(device: DeviceState, now: number): void {
    while (device.trail.length > 0 && now - device.trail[0]!.at > TRAIL_MS) device.trail.shift();
    while (device.marks.length > 0 && now - device.marks[0]!.at > MARK_MS) device.marks.shift();
  }

  /** Activity: counts toward the rate and last seen; it shows the device is there, not that it is online (its status says that). */
  private touch(device: DeviceState | undefined, now: number): void {
    if (!device) return;
    this.changed.add(device.id);
    device.lastSeen = now;
    device.rate.add(now);
  }

  private countSeq(device: DeviceState, seq: number): void {
    const run = device.seqRun;
    // A new publisher run starts again at 0. Moves (QoS 0) and clicks (QoS 1) may pass each other on the way,
    // so a gap counts as loss only while nothing has filled it.
    if (!run || seq < run.first) {
      device.seqRun = { first: seq, max: seq, received: 1 };
    } else {
      run.max = Math.max(run.max, seq);
      run.received += 1;
    }
    const r = device.seqRun!;
    device.missed = Math.max(0, r.max - r.first + 1 - r.received);
  }

  /**
   * The device, made if it is new. When the list is full, a newcomer takes the place of the device the page
   * is least sure of (offline and retained-only first), and only if the newcomer is surer: a device that is
   * heard live and not offline is never dropped, and retained messages alone never push out a live device.
   */
  private device(id: string, newcomer: number): DeviceState | undefined {
    let device = this.devices.get(id);
    if (device) return device;
    if (this.devices.size >= MAX_DEVICES) {
      const victim = this.leastPresent();
      if (!victim || presence(victim.status, victim.lastSeen !== null) >= newcomer) return undefined;
      this.devices.delete(victim.id);
      this.changed.delete(victim.id);
      this.removed.add(victim.id);
    }
    device = { id, status: 'unknown', meta: null, lastSeen: null, rate: new RateMeter(), pointer: null, trail: [], marks: [], lastClick: null, seqRun: null, missed: 0 };
    this.devices.set(id, device);
    this.removed.delete(id);
    return device;
  }

  private leastPresent(): DeviceState | undefined {
    let least: DeviceState | undefined;
    for (const d of this.devices.values()) if (!least || forgetFirst(d, least) < 0) least = d;
    return least;
  }
}

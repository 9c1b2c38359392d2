/**
 * `--source replay:FILE`: the mouse events of a recording (mqlive record, or the viewer's Record), played as this
 * device: new `ts` (now) and new `seq` (the publisher's own, from 0), with the recorded spacing. Marked
 * `source: "replay"` in meta, so nobody takes it for live capture.
 */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { checkMessage, isOfKind, type ContractMessageOfKind, type ScreenSize } from '../../protocol';
import { MAX_LINE_BYTES, readRecordingStream, RecordingError } from '../../protocol/recording';
import { SourceFlagError, type MouseInput, type MouseSource, type SourceContext, type SourceEntry, type SourceFlagValues, type SourceHandlers } from './source';

export const replaySource: SourceEntry = {
  name: 'replay',
  argument: 'FILE',
  description: 'the mouse events of a recording (mqlive record), as this device with new seq and ts',
  auto: false,
  flags: {
    loop: { env: 'MQLIVE_LOOP', type: 'flag', help: 'replay: start over at the end of the recording' },
    'max-line-bytes': { env: 'MQLIVE_MAX_LINE_BYTES', type: 'string', help: `replay: the longest line of the recording taken, in bytes (default ${MAX_LINE_BYTES}: 1 MiB)` },
  },
  open: (context, flags, file) => ReplaySource.open(context, flags, file),
};

/** The most mouse events a replay holds (they are held, for --loop): about 100 MB. mqlive replay streams any number. */
export const MAX_REPLAY_EVENTS = 1_000_000;

/** Node's timers take at most 2^31-1 ms and fire after 1 ms for anything longer: a longer wait is armed in parts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Screens from meta held at most before the device to replay is known (memory stays flat in the file size). */
const MAX_SCREENS_HELD = 10_000;

/** Device names listed at most when a recording holds several. */
const DEVICES_NAMED = 5;

/** A mouse input without its time: the replay stamps it when it plays it. */
export type UntimedInput = { [K in MouseInput['type']]: Omit<Extract<MouseInput, { type: K }>, 'ts'> }[MouseInput['type']];

/** A recorded mouse event: when (ms from the first one) and what. */
export interface TimedInput {
  at: number;
  input: UntimedInput;
}

export class ReplaySource implements MouseSource {
  readonly kind = 'replay';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    readonly events: readonly TimedInput[],
    readonly screen: ScreenSize | null,
    private readonly loop: boolean,
    private readonly say: (line: string) => void = () => {},
  ) {}

  static async open(context: SourceContext, flags: SourceFlagValues, file: string | undefined): Promise<ReplaySource> {
    if (!file) throw new SourceFlagError('--source replay needs a recording: --source replay:FILE');
    try {
      await access(file, constants.R_OK);
    } catch (error) {
      throw new SourceFlagError(`--source replay: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const maxLineBytes = flags['max-line-bytes'];
    let lineLimit = MAX_LINE_BYTES;
    if (maxLineBytes !== undefined) {
      lineLimit = Number(maxLineBytes);
      if (typeof maxLineBytes !== 'string' || !/^\d+$/.test(maxLineBytes.trim()) || !Number.isSafeInteger(lineLimit) || lineLimit < 1) {
        throw new SourceFlagError(`--max-line-bytes must be a whole number of at least 1 (got "${String(maxLineBytes)}")`);
      }
    }
    const { events, screen, devices, moreDevices } = await readMouseEvents(file, lineLimit);
    if (events.length === 0) throw new SourceFlagError(`--source replay: ${file} has no mouse events (devices/{device}/mouse/move, click or scroll)`);
    const [device] = devices;
    if (devices.length > 1) context.say(`${file} has mouse events of ${devices.join(', ')}${moreDevices ? ' and more' : ''}; replaying ${device}'s`);
    context.say(`Replaying ${events.length} mouse events of ${device} (${(events.at(-1)!.at / 1000).toFixed(1)} s) from ${file}${flags.loop ? ', looping' : ''}`);
    return new ReplaySource(events, screen, Boolean(flags.loop), context.say);
  }

  async start({ onInput, onCaptureState }: SourceHandlers): Promise<void> {
    this.stopped = false;
    // Each event is due at the round's start + its recorded offset (monotonic clock): a late timer never
    // pushes the rest back.
    let start = performance.now();
    let next = 0;
    const tick = () => {
      if (this.stopped) return;
      const now = performance.now();
      while (next < this.events.length && start + this.events[next]!.at <= now) {
        onInput({ ...this.events[next]!.input, ts: Date.now() } as MouseInput);
        next += 1;
      }
      if (next === this.events.length) {
        if (!this.loop) {
          onCaptureState(false, `The recording has ended (${this.events.length} mouse events replayed)`);
          return;
        }
        // The next round starts 100 ms after the last event.
        start = now + 100;
        next = 0;
      }
      // A wait beyond the timers' limit is armed in parts: tick finds the event not yet due and arms the next.
      this.timer = setTimeout(tick, Math.min(MAX_TIMER_MS, Math.max(0, start + this.events[next]!.at - performance.now())));
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}

/**
 * The mouse events of the first device in a recording that has any, with offsets from its first event; the
 * screen from that device's recorded meta, if there is one. Messages the contract refuses are skipped.
 * `devices` names the first few devices with mouse events (DEVICES_NAMED at most; `moreDevices` says there
 * are others). Linear in the file: a message costs a look through those few names, however many devices the
 * recording holds (it was a look through all of them, quadratic in the number of devices).
 */
export async function readMouseEvents(
  file: string,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<{ events: TimedInput[]; screen: ScreenSize | null; devices: string[]; moreDevices: boolean }> {
  const events: TimedInput[] = [];
  const devices: string[] = [];
  let moreDevices = false;
  // Screens from meta seen before the chosen device is known; from then on only that device's.
  let screens: Map<string, ScreenSize | null> | null = new Map();
  let screen: ScreenSize | null = null;
  let firstT = 0;
  const input = createReadStream(file, { highWaterMark: 64 * 1024 });
  try {
    for await (const message of readRecordingStream(input, { maxLineBytes })) {
      const checked = checkMessage(message.topic, message.payload);
      if (!checked.ok || checked.pattern === null) continue;
      const chosen = devices[0];
      if (checked.pattern === 'devices/+/meta' && !checked.cleared) {
        const { topic, payload } = checked;
        const metaScreen = payload.screen ?? null;
        if (screens) {
          if (screens.size < MAX_SCREENS_HELD || screens.has(topic.device)) screens.set(topic.device, metaScreen);
        }
        else if (topic.device === chosen) screen = metaScreen;
      }
      if (!isOfKind(checked, 'mouse')) continue;
      const { topic } = checked;
      if (!devices.includes(topic.device)) {
        if (devices.length < DEVICES_NAMED) devices.push(topic.device);
        else moreDevices = true;
        if (screens) {
          screen = screens.get(topic.device) ?? null;
          screens = null;
        }
      }
      if (topic.device !== devices[0]) continue;
      if (events.length >= MAX_REPLAY_EVENTS) {
        throw new SourceFlagError(`--source replay: ${file} has more than ${MAX_REPLAY_EVENTS} mouse events of ${devices[0]}, the most it plays (mqlive replay plays any number)`);
      }
      const timed = toInput(checked);
      if (events.length === 0) firstT = message.t;
      events.push({ at: message.t - firstT, input: timed });
    }
  } catch (error) {
    if (error instanceof RecordingError) throw new SourceFlagError(`--source replay: ${file} ${error.message}`);
    throw error;
  } finally {
    input.destroy();
  }
  return { events, screen, devices, moreDevices };
}

function toInput(m: ContractMessageOfKind<'mouse'>): UntimedInput {
  const { pattern, payload: p } = m; // destructured together, so `pattern` narrows `p`
  switch (pattern) {
    case 'devices/+/mouse/click':
      return { type: 'button', x: p.x, y: p.y, button: p.button, pressed: p.pressed };
    case 'devices/+/mouse/scroll':
      return { type: 'wheel', x: p.x, y: p.y, dx: p.dx, dy: p.dy };
    case 'devices/+/mouse/move':
      return { type: 'move', x: p.x, y: p.y };
  }
}

/**
 * `--source replay:FILE`: the mouse events of a recording (mqlive record, or the viewer's Record), played as this
 * device: new `ts` (now) and new `seq` (the publisher's own, from 0), with the recorded spacing. Marked
 * `source: "replay"` in meta, so nobody takes it for live capture.
 */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { checkMessage, type ClickEvent, type DeviceMeta, type MoveEvent, type ScrollEvent, type ScreenSize } from '../../protocol';
import { RecordingError, RecordingReader } from '../../protocol/recording';
import { SourceFlagError, type MouseInput, type MouseSource, type SourceContext, type SourceEntry, type SourceFlagValues, type SourceHandlers } from './source';

export const replaySource: SourceEntry = {
  name: 'replay',
  argument: 'FILE',
  description: 'the mouse events of a recording (mqlive record), as this device with new seq and ts',
  auto: false,
  flags: { loop: { env: 'MQLIVE_LOOP', type: 'flag', help: 'replay: start over at the end of the recording' } },
  open: (context, flags, file) => ReplaySource.open(context, flags, file),
};

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
    const { events, screen, devices } = await readMouseEvents(file);
    if (events.length === 0) throw new SourceFlagError(`--source replay: ${file} has no mouse events (devices/{device}/mouse/move, click or scroll)`);
    const [device, ...others] = devices;
    if (others.length) context.say(`${file} has mouse events of ${devices.join(', ')}; replaying ${device}'s`);
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
      this.timer = setTimeout(tick, Math.max(0, start + this.events[next]!.at - performance.now()));
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
 */
export async function readMouseEvents(file: string): Promise<{ events: TimedInput[]; screen: ScreenSize | null; devices: string[] }> {
  const reader = new RecordingReader();
  const events: TimedInput[] = [];
  const devices: string[] = [];
  const screens = new Map<string, ScreenSize | null>();
  let firstT = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      const message = reader.push(line);
      if (!message) continue;
      const checked = checkMessage(message.topic, message.payload);
      if (!checked.ok || !checked.topic) continue;
      const { topic, payload } = checked;
      if (topic.kind === 'meta' && !checked.cleared) screens.set(topic.device, (payload as DeviceMeta).screen ?? null);
      if (topic.kind !== 'mouse') continue;
      if (!devices.includes(topic.device)) devices.push(topic.device);
      if (topic.device !== devices[0]) continue;
      const input = toInput(topic.event, payload as MoveEvent | ClickEvent | ScrollEvent);
      if (events.length === 0) firstT = message.t;
      events.push({ at: message.t - firstT, input });
    }
    reader.end();
  } catch (error) {
    if (error instanceof RecordingError) throw new SourceFlagError(`--source replay: ${file} ${error.message}`);
    throw error;
  } finally {
    lines.close();
  }
  return { events, screen: devices[0] ? (screens.get(devices[0]) ?? null) : null, devices };
}

function toInput(event: 'move' | 'click' | 'scroll', p: MoveEvent | ClickEvent | ScrollEvent): UntimedInput {
  if (event === 'click') {
    const c = p as ClickEvent;
    return { type: 'button', x: c.x, y: c.y, button: c.button, pressed: c.pressed };
  }
  if (event === 'scroll') {
    const s = p as ScrollEvent;
    return { type: 'wheel', x: s.x, y: s.y, dx: s.dx, dy: s.dy };
  }
  return { type: 'move', x: p.x, y: p.y };
}

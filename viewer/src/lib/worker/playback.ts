import type { RecordedMessage, RecordingHeader } from '../../../../protocol/recording';

/** Speeds the page offers (1 = as recorded). */
export const PLAYBACK_SPEEDS = [0.25, 0.5, 1, 2, 4, 8] as const;
const TICK_MS = 16;

export interface PlaybackInfo {
  name: string;
  messages: number;
  durationMs: number;
  positionMs: number;
  state: 'playing' | 'paused' | 'ended';
  speed: number;
}

export interface PlaybackTarget {
  /** Applies one recorded message to the models; `recordedAt` is when the recorder received it (epoch ms). */
  apply(message: RecordedMessage, recordedAt: number): void;
  /** Forgets everything the models hold (before seeking back). */
  reset(): void;
  /** The position or state changed. */
  changed(): void;
}

/**
 * Plays a recording into the worker's models on the worker's clock: the position runs at `speed` from where
 * it was when play was pressed (not by adding up sleeps), and every message whose `t` it has passed is applied.
 * Seeking back starts the models again from the beginning up to the new position.
 */
export class Playback {
  private index = 0;
  private position = 0;
  private playing = false;
  private speed = 1;
  private anchor = { wall: 0, position: 0 };
  private timer: ReturnType<typeof setInterval> | undefined;
  readonly durationMs: number;

  constructor(
    private readonly name: string,
    private readonly header: RecordingHeader,
    private readonly messages: readonly RecordedMessage[],
    private readonly target: PlaybackTarget,
  ) {
    this.durationMs = messages.reduce((max, m) => Math.max(max, m.t), 0);
    this.applyUpTo(0);
  }

  play(): void {
    if (this.playing) return;
    if (this.ended) this.seek(0);
    this.playing = true;
    this.anchor = { wall: Date.now(), position: this.position };
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.target.changed();
  }

  pause(): void {
    if (!this.playing) return;
    this.tick();
    this.halt();
  }

  setSpeed(speed: number): void {
    if (!(PLAYBACK_SPEEDS as readonly number[]).includes(speed)) return;
    if (this.playing) this.tick();
    this.speed = speed;
    this.anchor = { wall: Date.now(), position: this.position };
    this.target.changed();
  }

  seek(positionMs: number): void {
    const to = Math.min(this.durationMs, Math.max(0, positionMs));
    if (to < this.position) {
      this.target.reset();
      this.index = 0;
    }
    this.position = to;
    this.anchor = { wall: Date.now(), position: to };
    this.applyUpTo(to);
    this.target.changed();
  }

  stop(): void {
    this.halt();
  }

  info(): PlaybackInfo {
    const state = this.playing ? 'playing' : this.ended ? 'ended' : 'paused';
    return { name: this.name, messages: this.messages.length, durationMs: this.durationMs, positionMs: this.position, state, speed: this.speed };
  }

  private get ended(): boolean {
    return this.index >= this.messages.length && this.position >= this.durationMs;
  }

  private tick(): void {
    this.position = Math.min(this.durationMs, this.anchor.position + (Date.now() - this.anchor.wall) * this.speed);
    this.applyUpTo(this.position);
    if (this.ended) this.halt();
    this.target.changed();
  }

  private halt(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.playing = false;
    this.target.changed();
  }

  private applyUpTo(position: number): void {
    while (this.index < this.messages.length && this.messages[this.index]!.t <= position) {
      const message = this.messages[this.index++]!;
      this.target.apply(message, this.header.startedAt + message.t);
    }
  }
}

/**
 * Plays recorded messages on schedule: each is due at the round's start + t / speed on a monotonic clock, so a
 * timer that fires late never pushes the rest back (no accumulated sleeps). The publish function and the clock
 * come in from outside, so the schedule is tested without a broker or real time.
 */
import { printable } from '../protocol/printable';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageProperties } from '../protocol/message-properties';
import type { RecordedMessage } from '../protocol/recording';

export type Publish = (topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, properties?: MessageProperties) => Promise<unknown>;

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` is aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<unknown>;
}

export const MONOTONIC: Clock = { now: () => performance.now(), sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}) };

/**
 * The longest single sleep: Node's timers take at most 2^31-1 ms (24.8 days) and fire after 1 ms for anything
 * longer, so a longer wait is slept in parts, each ending by looking at the clock again.
 */
export const MAX_SLEEP_MS = 2 ** 31 - 1;

export interface PlayerOptions {
  /** 1 as recorded, 2 twice as fast, 0 as fast as the publishes are taken. */
  speed: number;
  prefix: string;
  /** false: every message goes out unretained (--retain drop). */
  keepRetain: boolean;
  say(line: string): void;
  clock?: Clock;
  /**
   * Aborted when the run is stopped (Ctrl-C, SIGTERM): every wait ends at once (for the schedule, for a broker's
   * acknowledgement that may never come, for room among the publishes in flight), and nothing more is sent.
   */
  signal?: AbortSignal;
}

/** Publishes in flight at most: with --speed 0 this is the backpressure; on time it only bounds a slow broker. */
export const IN_FLIGHT = 100;

export class Player {
  sent = 0;
  /** The most any message went out after its due time (ms), over the whole run. */
  maxLateMs = 0;
  private windowLateMs = 0;
  private lastT = 0;
  private lastSent = 0;
  private roundStart: number;
  private readonly clock: Clock;
  private readonly firstStart: number;
  private readonly inFlight: Promise<unknown>[] = [];
  private failures = 0;
  private awaitingAck: Promise<unknown> | undefined;
  private readonly aborted: Promise<void>;

  constructor(
    private readonly publish: Publish,
    private readonly options: PlayerOptions,
  ) {
    this.clock = options.clock ?? MONOTONIC;
    this.firstStart = this.roundStart = this.clock.now();
    const { signal } = options;
    this.aborted = new Promise((resolve) => {
      if (!signal) return;
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  private get stopped(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /** Waits for `promise`, or less: until the run is stopped. */
  private async until(promise: Promise<unknown> | undefined): Promise<void> {
    await Promise.race([promise, this.aborted]);
  }

  /** Time starts again from here (a new round of --loop). */
  startRound(): void {
    this.roundStart = this.clock.now();
  }

  async play(message: RecordedMessage): Promise<void> {
    const { speed, prefix, keepRetain } = this.options;
    // A broker may forward a QoS 0 message before a QoS 1 one sent just ahead of it (the QoS 1 path has more
    // steps): the next message goes only once the broker has acknowledged the last QoS 1 or 2 one.
    await this.until(this.awaitingAck);
    if (this.stopped) return;
    if (speed > 0) {
      const due = this.roundStart + message.t / speed;
      for (let wait = due - this.clock.now(); wait > 0 && !this.stopped; wait = due - this.clock.now()) {
        await this.until(this.clock.sleep(Math.min(wait, MAX_SLEEP_MS), this.options.signal));
      }
      if (this.stopped) return;
      const late = Math.max(0, this.clock.now() - due);
      this.windowLateMs = Math.max(this.windowLateMs, late);
      this.maxLateMs = Math.max(this.maxLateMs, late);
    }
    while (this.inFlight.length >= IN_FLIGHT && !this.stopped) await this.until(this.inFlight.shift());
    if (this.stopped) return;
    const topic = prefix + message.topic;
    const sending = this.publish(topic, message.payload, message.qos, keepRetain && message.retain, message.properties).catch((error: Error) => {
      if (this.failures++ < 5) this.options.say(`could not publish on ${printable(topic)}: ${printable(error.message)}`);
    });
    this.inFlight.push(sending);
    if (message.qos > 0) this.awaitingAck = sending;
    this.sent += 1;
    this.lastT = message.t;
  }

  /** Waits for every publish still in flight (or until the run is stopped). */
  async drain(): Promise<void> {
    await this.until(Promise.all(this.inFlight.splice(0)));
  }

  elapsedSeconds(): number {
    return (this.clock.now() - this.firstStart) / 1000;
  }

  /** The progress line, once a second: what went out since the last one, where in the recording, how late. */
  progressLine(total: number, durationMs: number): string {
    const rate = this.sent - this.lastSent;
    this.lastSent = this.sent;
    const late = this.options.speed > 0 ? `, at most ${this.windowLateMs.toFixed(0)} ms late` : '';
    this.windowLateMs = 0;
    return `replaying: ${this.sent} messages sent (${total} per round), ${rate}/s, at ${(this.lastT / 1000).toFixed(1)} s of ${(durationMs / 1000).toFixed(1)} s${late}, ${this.elapsedSeconds().toFixed(0)} s`;
  }
}

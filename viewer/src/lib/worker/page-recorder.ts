import { deliveryFor } from '../../../../protocol';
import { encodeHeader, encodeMessage } from '../../../../protocol/recording';

/** Recording stops by itself after this many messages: it is held in the worker's memory until downloaded. */
export const MAX_RECORDED_MESSAGES = 500_000;
/** Retained topics held for the start of a recording; topics past this many are not held (like the explorer's cap). */
export const MAX_RETAINED_TOPICS = 10_000;

interface Held {
  payload: Uint8Array;
  qos: 0 | 1 | 2;
}

/**
 * What the broker holds retained for the page's subscriptions, as far as the page can tell: what came retained,
 * and later live messages on contract topics that are retained (status, meta), since a broker clears the
 * retain flag of messages it forwards to a subscriber that is already there. An empty payload clears a topic.
 */
export class RetainedState {
  private readonly held = new Map<string, Held>();

  note(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retained: boolean): void {
    if (!retained && deliveryFor(topic)?.retain !== true) return;
    if (payload.length === 0) this.held.delete(topic);
    else if (this.held.size < MAX_RETAINED_TOPICS || this.held.has(topic)) this.held.set(topic, { payload, qos });
  }

  /** The held topics that are `branch` itself or below it (`branch/…`). */
  topicsUnder(branch: string): string[] {
    const below = branch.endsWith('/') ? branch : `${branch}/`;
    return [...this.held.keys()].filter((t) => t === branch || t.startsWith(below)).sort();
  }

  clear(): void {
    this.held.clear();
  }

  entries(): [string, Held][] {
    return [...this.held];
  }
}

/**
 * What the page receives, as a recording (protocol/recording.ts): the header, the retained state at the
 * start (`retain: true`, `t: 0`), then each message as it came, held as lines until `text()`.
 */
export class PageRecorder {
  private readonly lines: string[];
  private readonly startedAt: number;
  private count = 0;

  constructor(broker: string, filters: string[], retained: RetainedState, now: number) {
    this.startedAt = now;
    this.lines = [encodeHeader({ startedAt: now, broker, filters })];
    for (const [topic, { payload, qos }] of retained.entries()) this.lines.push(encodeMessage({ t: 0, topic, payload, qos, retain: true }));
  }

  /** Adds one message; false once the recording is full. */
  add(topic: string, payload: Uint8Array, qos: 0 | 1 | 2, retain: boolean, now: number): boolean {
    if (this.count >= MAX_RECORDED_MESSAGES) return false;
    this.count += 1;
    this.lines.push(encodeMessage({ t: Math.max(0, now - this.startedAt), topic, payload, qos, retain }));
    return true;
  }

  get full(): boolean {
    return this.count >= MAX_RECORDED_MESSAGES;
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }

  fileName(): string {
    return `mqlive-${new Date(this.startedAt).toISOString().replace(/[:.]/g, '-')}.jsonl`;
  }
}

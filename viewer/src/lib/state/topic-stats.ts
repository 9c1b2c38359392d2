import { clip, numericFields, type FormattedPayload } from './payload-format';
import type { PropertyLine } from './mqtt5';
import { RateMeter, type RateState } from './rate';

export const MAX_TOPICS = 2000;
/** Messages of the selected topic its page keeps (N), and of each topic the worker keeps at most. */
export const HISTORY_MESSAGES = 100;
/** Bytes of each kept message (the rest is counted in `size`). */
export const KEPT_BYTES = 8 * 1024;
/**
 * Payload bytes of each topic's history the worker keeps beyond its newest message, so that a topic opened
 * now shows its last messages at once (100 small ones, fewer big ones). With MAX_TOPICS, this and KEPT_BYTES
 * bound the worker's memory under `#`: 2,000 × (16 + 8) KiB of payloads at worst.
 */
export const KEPT_TOPIC_BYTES = 16 * 1024;
/** Characters of a payload shown on its tree row. */
export const PREVIEW_CHARS = 160;

/** What the page gets of a topic that changed: its stats and a one-line preview of its last payload. */
export interface TopicUpdate {
  topic: string;
  kind: FormattedPayload['kind'];
  /** The last payload as one clipped line of text (never HTML): made once per frame, here. */
  preview: string;
  count: number;
  retained: boolean;
  lastAt: number;
  rate: RateState;
}

/** One message of a topic, as its page shows it; the bytes (at most KEPT_BYTES) are decoded there as asked. */
export interface TopicMessage {
  /** Counts up per topic from its first message, so the page can key and order messages. */
  id: number;
  at: number;
  qos: 0 | 1 | 2;
  retained: boolean;
  /** The payload's full size in bytes. */
  size: number;
  bytes: Uint8Array;
  /** Its numeric fields (payload-format.ts), for the charts. */
  numbers: Record<string, number>;
  /** Its MQTT 5 properties as text (state/mqtt5.ts); none over MQTT 3.1.1. */
  properties: PropertyLine[];
}

/** The selected topic's messages since the last frame, oldest first; `reset`: the page drops what it had. */
export interface SelectedUpdate {
  topic: string;
  reset: boolean;
  messages: TopicMessage[];
}

interface Stats {
  payload: FormattedPayload;
  count: number;
  retained: boolean;
  lastAt: number;
  rate: RateMeter;
  /** The last messages, oldest first: at most HISTORY_MESSAGES, and KEPT_TOPIC_BYTES besides the newest. */
  recent: TopicMessage[];
  /** Payload bytes held in `recent`. */
  recentBytes: number;
}

function keep(stats: Stats, message: TopicMessage): void {
  stats.recent.push(message);
  stats.recentBytes += message.bytes.length;
  while (stats.recent.length > HISTORY_MESSAGES || (stats.recent.length > 1 && stats.recentBytes - message.bytes.length > KEPT_TOPIC_BYTES)) {
    stats.recentBytes -= stats.recent.shift()!.bytes.length;
  }
}

/**
 * Every topic seen (in the worker): last payload, count, rate, retained flag, its last few messages, and the
 * stream of messages of the one topic the page has selected.
 */
export class TopicStatsTable {
  private readonly topics = new Map<string, Stats>();
  private readonly changed = new Set<string>();
  /** Topics whose retained message was cleared since the last frame: they leave the tree. */
  private readonly removed = new Set<string>();
  private overflowCount = 0;
  private selected: SelectedUpdate | null = null;

  /**
   * Records one message, decoded once by the caller. `cleared`: it clears the topic's retained message (an empty
   * retained message; the caller decides, see LiveConnection.isClear): the topic leaves the tree, as in MQTT
   * Explorer, with the history the page kept of it, and a clear never adds a row. A topic that goes on getting
   * messages comes back with the next one.
   */
  record(topic: string, payload: FormattedPayload, retained: boolean, now: number, bytes: Uint8Array = new Uint8Array(0), qos: 0 | 1 | 2 = 0, properties: PropertyLine[] = [], cleared = false): void {
    let stats = this.topics.get(topic);
    if (cleared) {
      if (!stats) return;
      this.topics.delete(topic);
      this.changed.delete(topic);
      this.removed.add(topic);
      return;
    }
    this.removed.delete(topic);
    if (!stats) {
      if (this.topics.size >= MAX_TOPICS) {
        this.overflowCount += 1;
        return;
      }
      stats = { payload, count: 0, retained, lastAt: now, rate: new RateMeter(), recent: [], recentBytes: 0 };
      this.topics.set(topic, stats);
    }
    stats.payload = payload;
    stats.count += 1;
    stats.retained = retained;
    stats.lastAt = now;
    stats.rate.add(now);
    // A copy, not a view: a view would keep the whole network chunk it came in alive.
    const kept = new Uint8Array(bytes.subarray(0, KEPT_BYTES));
    const message: TopicMessage = { id: stats.count - 1, at: now, qos, retained, size: bytes.length, bytes: kept, numbers: numericFields(payload), properties };
    keep(stats, message);
    if (this.selected?.topic === topic) {
      this.selected.messages.push(message);
      if (this.selected.messages.length > HISTORY_MESSAGES) this.selected.messages.shift();
    }
    this.changed.add(topic);
  }

  /** The page shows this topic's page now (null: none): it gets the topic's recent messages, then each new one. */
  select(topic: string | null): void {
    this.selected = topic === null ? null : { topic, reset: true, messages: [...(this.topics.get(topic)?.recent ?? [])] };
  }

  get selectedTopic(): string | null {
    return this.selected?.topic ?? null;
  }

  /** The selected topic's messages since the last call (at most HISTORY_MESSAGES), or null if none came. */
  takeSelected(): SelectedUpdate | null {
    const s = this.selected;
    if (!s || (!s.reset && s.messages.length === 0)) return null;
    this.selected = { topic: s.topic, reset: false, messages: [] };
    return s;
  }

  /** Whether the topic is in the table. */
  has(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** The topics in the table that are `branch` itself or below it (`branch/…`). */
  topicsUnder(branch: string): string[] {
    const below = branch.endsWith('/') ? branch : `${branch}/`;
    return [...this.topics.keys()].filter((t) => t === branch || t.startsWith(below));
  }

  /** Messages on topics past MAX_TOPICS, counted but not kept. */
  get overflow(): number {
    return this.overflowCount;
  }

  /** The topics whose retained message was cleared since the last call. */
  takeRemoved(): string[] {
    const out = [...this.removed];
    this.removed.clear();
    return out;
  }

  /** The topics that changed since the last call, each once however many messages it got. */
  takeChanges(): TopicUpdate[] {
    const out: TopicUpdate[] = [];
    for (const topic of this.changed) {
      const s = this.topics.get(topic)!;
      out.push({ topic, kind: s.payload.kind, preview: previewText(s.payload), count: s.count, retained: s.retained, lastAt: s.lastAt, rate: s.rate.state() });
    }
    this.changed.clear();
    return out;
  }
}

/** One line of a payload: its text as sent (JSON as is, not pretty-printed), clipped. */
function previewText(payload: FormattedPayload): string {
  return clip(payload.text, PREVIEW_CHARS);
}

import { displayText, MAX_NUMERIC_FIELDS, numericFields, type FormattedPayload } from './payload-format';
import { RateMeter, type RateState } from './rate';

export const MAX_TOPICS = 2000;
export const PLOT_POINTS = 120;

/** What the page gets of a topic that changed: its stats, its last payload as shown, and the new plot points. */
export interface TopicUpdate {
  topic: string;
  kind: FormattedPayload['kind'];
  /** The last payload as the page shows it (JSON pretty-printed, long text clipped): made once per frame, here. */
  display: string;
  count: number;
  retained: boolean;
  lastAt: number;
  rate: RateState;
  /** Values of each numeric field since the last update, oldest first, at most PLOT_POINTS each. */
  points: [field: string, values: number[]][];
}

interface Stats {
  payload: FormattedPayload;
  count: number;
  retained: boolean;
  lastAt: number;
  rate: RateMeter;
  /** Every field ever plotted (at most MAX_NUMERIC_FIELDS), so the plots of one topic stay capped. */
  fields: Set<string>;
  /** Values since the last takeChanges(). */
  fresh: Map<string, number[]>;
}

/** Every topic seen (in the worker): last payload, count, rate, retained flag, and the numbers worth plotting. */
export class TopicStatsTable {
  private readonly topics = new Map<string, Stats>();
  private readonly changed = new Set<string>();
  private overflowCount = 0;
  private overflowChanged = false;

  /** Records one message, decoded once by the caller. */
  record(topic: string, payload: FormattedPayload, retained: boolean, now: number): void {
    let stats = this.topics.get(topic);
    if (!stats) {
      if (this.topics.size >= MAX_TOPICS) {
        this.overflowCount += 1;
        this.overflowChanged = true;
        return;
      }
      stats = { payload, count: 0, retained, lastAt: now, rate: new RateMeter(), fields: new Set(), fresh: new Map() };
      this.topics.set(topic, stats);
    }
    stats.payload = payload;
    stats.count += 1;
    stats.retained = retained;
    stats.lastAt = now;
    stats.rate.add(now);
    for (const [field, value] of Object.entries(numericFields(payload))) {
      // Fields may change from message to message: the plots of one topic stay capped all the same.
      if (!stats.fields.has(field)) {
        if (stats.fields.size >= MAX_NUMERIC_FIELDS) continue;
        stats.fields.add(field);
      }
      let points = stats.fresh.get(field);
      if (!points) stats.fresh.set(field, (points = []));
      points.push(value);
      if (points.length > PLOT_POINTS) points.shift();
    }
    this.changed.add(topic);
  }

  get hasChanges(): boolean {
    return this.changed.size > 0 || this.overflowChanged;
  }

  /** Messages on topics past MAX_TOPICS, counted but not kept. */
  get overflow(): number {
    return this.overflowCount;
  }

  /** The topics that changed since the last call, each once however many messages it got. */
  takeChanges(): TopicUpdate[] {
    const out: TopicUpdate[] = [];
    for (const topic of this.changed) {
      const s = this.topics.get(topic)!;
      out.push({ topic, kind: s.payload.kind, display: displayText(s.payload), count: s.count, retained: s.retained, lastAt: s.lastAt, rate: s.rate.state(), points: [...s.fresh] });
      s.fresh = new Map();
    }
    this.changed.clear();
    this.overflowChanged = false;
    return out;
  }
}

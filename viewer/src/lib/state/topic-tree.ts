import { formatPayload, numericFields, type FormattedPayload } from './payload-format';
import { RateMeter } from './rate';

export const MAX_TOPICS = 2000;
export const PLOT_POINTS = 120;

export interface TopicStats {
  topic: string;
  payload: FormattedPayload;
  count: number;
  retained: boolean;
  lastAt: number;
  rate: RateMeter;
  /** Recent values of each numeric field, oldest first, at most PLOT_POINTS each. */
  series: Map<string, number[]>;
}

export interface TreeNode {
  name: string;
  path: string;
  stats?: TopicStats;
  children: TreeNode[];
}

/** Every topic seen, with its last payload, count, rate, retained flag and numeric history. */
export class TopicTable {
  private readonly topics = new Map<string, TopicStats>();
  /** Messages on topics past MAX_TOPICS, counted but not kept. */
  overflow = 0;

  record(topic: string, payload: Uint8Array, retained: boolean, now: number): void {
    let stats = this.topics.get(topic);
    if (!stats) {
      if (this.topics.size >= MAX_TOPICS) {
        this.overflow += 1;
        return;
      }
      stats = { topic, payload: formatPayload(payload), count: 0, retained, lastAt: now, rate: new RateMeter(), series: new Map() };
      this.topics.set(topic, stats);
    }
    stats.payload = formatPayload(payload);
    stats.count += 1;
    stats.retained = retained;
    stats.lastAt = now;
    stats.rate.add(now);
    for (const [field, value] of Object.entries(numericFields(stats.payload))) {
      let points = stats.series.get(field);
      if (!points) stats.series.set(field, (points = []));
      points.push(value);
      if (points.length > PLOT_POINTS) points.shift();
    }
  }

  get(topic: string): TopicStats | undefined {
    return this.topics.get(topic);
  }

  get size(): number {
    return this.topics.size;
  }

  /**
   * The topics as a tree by level, children sorted by name. Its stats are snapshots (series copied), since
   * the page's renderer only re-reads what changed identity.
   */
  tree(): TreeNode {
    const root: TreeNode = { name: '', path: '', children: [] };
    const sorted = [...this.topics.values()].sort((a, b) => (a.topic < b.topic ? -1 : 1));
    for (const stats of sorted) {
      let node = root;
      const levels = stats.topic.split('/');
      levels.forEach((name, i) => {
        const path = levels.slice(0, i + 1).join('/');
        let child = node.children.find((c) => c.name === name);
        if (!child) node.children.push((child = { name, path, children: [] }));
        node = child;
      });
      node.stats = { ...stats, series: new Map([...stats.series].map(([field, points]) => [field, points.slice()])) };
    }
    return root;
  }
}

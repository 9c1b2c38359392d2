import { FrameSignal } from './frame-signal';
import { formatPayload, MAX_NUMERIC_FIELDS, numericFields, type FormattedPayload } from './payload-format';
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

/** One line of the explorer: a topic level, with the stats of the topic that ends there, if any. */
export interface TopicRow {
  name: string;
  path: string;
  depth: number;
  stats?: TopicStats;
}

interface TreeNode {
  name: string;
  path: string;
  depth: number;
  /** Sorted by name; a new level is put in its place when it first appears. */
  children: TreeNode[];
  stats?: TopicStats;
  /** The row last handed out; rebuilt only after this topic changed. */
  row: TopicRow;
  rowIsStale: boolean;
}

function node(name: string, path: string, depth: number): TreeNode {
  return { name, path, depth, children: [], row: { name, path, depth }, rowIsStale: false };
}

/** Index of `name` in `children` (sorted by name), or where it would go. */
function place(children: TreeNode[], name: string): number {
  let lo = 0;
  let hi = children.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (children[mid]!.name < name) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Every topic seen, with its last payload, count, rate, retained flag and numeric history, as a sorted tree. */
export class TopicTable {
  private readonly topics = new Map<string, TreeNode>();
  private readonly root = node('', '', -1);
  private readonly signal = new FrameSignal();
  private rowsCache: TopicRow[] | null = null;
  private overflowCount = 0;

  /** Records one message; returns its payload, decoded once for everyone who shows it. */
  record(topic: string, payload: Uint8Array, retained: boolean, now: number): FormattedPayload {
    const formatted = formatPayload(payload);
    let leaf = this.topics.get(topic);
    if (!leaf) {
      if (this.topics.size >= MAX_TOPICS) {
        this.overflowCount += 1;
        return formatted;
      }
      leaf = this.insert(topic);
      leaf.stats = { topic, payload: formatted, count: 0, retained, lastAt: now, rate: new RateMeter(), series: new Map() };
      this.topics.set(topic, leaf);
    }
    const stats = leaf.stats!;
    stats.payload = formatted;
    stats.count += 1;
    stats.retained = retained;
    stats.lastAt = now;
    stats.rate.add(now);
    for (const [field, value] of Object.entries(numericFields(formatted))) {
      let points = stats.series.get(field);
      // Fields may change from message to message: the plots of one topic stay capped all the same.
      if (!points && stats.series.size >= MAX_NUMERIC_FIELDS) continue;
      if (!points) stats.series.set(field, (points = []));
      points.push(value);
      if (points.length > PLOT_POINTS) points.shift();
    }
    leaf.rowIsStale = true;
    this.rowsCache = null;
    this.signal.changed();
    return formatted;
  }

  get(topic: string): TopicStats | undefined {
    return this.topics.get(topic)?.stats;
  }

  get size(): number {
    this.signal.track();
    return this.topics.size;
  }

  /** Messages on topics past MAX_TOPICS, counted but not kept. */
  get overflow(): number {
    this.signal.track();
    return this.overflowCount;
  }

  /**
   * The tree flattened depth first, children by name. A row is a new object only when its topic changed
   * (stats copied then, series included), since the page's renderer re-reads only what changed identity.
   */
  rows(): readonly TopicRow[] {
    this.signal.track();
    if (this.rowsCache) return this.rowsCache;
    const out: TopicRow[] = [];
    const walk = (parent: TreeNode) => {
      for (const child of parent.children) {
        if (child.rowIsStale && child.stats) {
          const series = new Map([...child.stats.series].map(([field, points]) => [field, points.slice()]));
          child.row = { name: child.name, path: child.path, depth: child.depth, stats: { ...child.stats, series } };
          child.rowIsStale = false;
        }
        out.push(child.row);
        walk(child);
      }
    };
    walk(this.root);
    this.rowsCache = out;
    return out;
  }

  private insert(topic: string): TreeNode {
    let parent = this.root;
    const levels = topic.split('/');
    levels.forEach((name, depth) => {
      const at = place(parent.children, name);
      let child = parent.children[at];
      if (child?.name !== name) parent.children.splice(at, 0, (child = node(name, levels.slice(0, depth + 1).join('/'), depth)));
      parent = child;
    });
    return parent;
  }
}

import { FrameSignal, TEXT_EVERY_MS } from './frame-signal';
import { PLOT_POINTS, type TopicUpdate } from '../state/topic-stats';
import { RateMeter } from '../state/rate';

/** A topic as the page holds it: the worker's update (display made there, never HTML), with a live rate and series. */
export interface TopicStats extends Omit<TopicUpdate, 'rate' | 'points'> {
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
  /** The row handed out; a new object only after this topic changed. */
  row: TopicRow;
}

function node(name: string, path: string, depth: number): TreeNode {
  return { name, path, depth, children: [], row: { name, path, depth } };
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

/**
 * The page's topic tree, from the worker's per-frame updates: only the topics that changed get new rows
 * (and only their new plot points are appended), so the explorer re-renders only what changed.
 */
export class TopicTree {
  private readonly topics = new Map<string, TreeNode>();
  private readonly root = node('', '', -1);
  private readonly signal = new FrameSignal(TEXT_EVERY_MS);
  private rowsCache: TopicRow[] | null = null;
  private overflowCount = 0;

  apply(updates: readonly TopicUpdate[], overflow: number): void {
    for (const u of updates) {
      let leaf = this.topics.get(u.topic);
      if (!leaf) {
        leaf = this.insert(u.topic);
        this.topics.set(u.topic, leaf);
      }
      const series = new Map(leaf.row.stats?.series);
      for (const [field, values] of u.points) {
        const points = [...(series.get(field) ?? []), ...values];
        series.set(field, points.length > PLOT_POINTS ? points.slice(-PLOT_POINTS) : points);
      }
      const { points: _, rate, ...stats } = u;
      leaf.row = { name: leaf.name, path: leaf.path, depth: leaf.depth, stats: { ...stats, rate: RateMeter.from(rate), series } };
    }
    // A new array when a row changed: the renderer compares the list's identity, then each row's.
    if (updates.length > 0) this.rowsCache = null;
    this.overflowCount = overflow;
    this.signal.changed();
  }

  get(topic: string): TopicStats | undefined {
    return this.topics.get(topic)?.row.stats;
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

  /** The tree flattened depth first, children by name; a row is a new object only when its topic changed. */
  rows(): readonly TopicRow[] {
    this.signal.track();
    this.rowsCache ??= this.flatten();
    return this.rowsCache;
  }

  private flatten(): TopicRow[] {
    const out: TopicRow[] = [];
    const walk = (parent: TreeNode) => {
      for (const child of parent.children) {
        out.push(child.row);
        walk(child);
      }
    };
    walk(this.root);
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

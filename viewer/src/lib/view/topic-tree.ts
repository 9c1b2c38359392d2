import { isWildcardFilter, topicMatches } from '../../../../protocol/topic-filter';
import { RateMeter } from '../state/rate';
import type { TopicUpdate } from '../state/topic-stats';
import { FrameSignal } from './frame-signal';

/** A topic as the page holds it: the worker's update (preview made there, never HTML), with a live rate. */
export interface TopicStats extends Omit<TopicUpdate, 'rate'> {
  rate: RateMeter;
}

/**
 * How often the tree shows new figures at most: counts and rates read well 4 times a second, and each update
 * restyles every row in view. What the person does (open, close, search) shows in the next frame.
 */
export const TREE_EVERY_MS = 250;

/** Branches shallower than this are open until the person closes them (`devices`, `devices/laptop`); deeper ones closed. */
export const OPEN_DEPTH = 2;

/** One level of the tree: a branch, a topic, or both (`a` and `a/b` may both be topics). */
export interface TreeNode {
  name: string;
  path: string;
  depth: number;
  parent: TreeNode | null;
  /** Sorted by name; a new level is put in its place when it first appears. */
  children: TreeNode[];
  /** The topic that ends here, if any. */
  stats?: TopicStats;
  /** Messages on this topic and every topic below it. */
  total: number;
  /** Their rate, counted here as the updates come (a branch has no meter of its own in the worker). */
  branchRate: RateMeter;
  /** Topics at or below this level. */
  topics: number;
}

/** What a row of the tree shows: one level, with figures summed over its branch. */
export interface TreeRow {
  path: string;
  name: string;
  depth: number;
  /** Whether it has levels below (then it can open and close). */
  branch: boolean;
  open: boolean;
  count: number;
  perSecond: number;
  /** Topics in its branch (itself included). */
  topics: number;
  /** The topic ending here, if any. */
  stats?: TopicStats;
}

function node(name: string, path: string, depth: number, parent: TreeNode | null): TreeNode {
  return { name, path, depth, parent, children: [], total: 0, branchRate: new RateMeter(), topics: 0 };
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
 * How a search reads: an MQTT filter when it uses `+` or `#` as whole levels (`bench/+/s1/#`), else a
 * substring of the topic, any case. Null for an empty search.
 */
export function topicSearch(query: string): ((topic: string) => boolean) | null {
  const q = query.trim();
  if (!q) return null;
  if (isWildcardFilter(q)) return (topic) => topicMatches(q, topic);
  const lower = q.toLowerCase();
  return (topic) => topic.toLowerCase().includes(lower);
}

/**
 * The page's topic tree, from the worker's per-frame updates: per-branch counts and rates kept as updates
 * come, branches open or closed, and a search. `visible()` is only the rows of open branches (or those a
 * search finds), made again only when the tree's shape, the open branches or the search changed; the panel
 * renders only the part of it scrolled into view.
 */
export class TopicTree {
  private readonly topics = new Map<string, TreeNode>();
  private readonly root = node('', '', -1, null);
  private readonly traffic = new FrameSignal(TREE_EVERY_MS);
  private readonly actions = new FrameSignal();
  /** Branches the person opened (true) or closed (false); others follow OPEN_DEPTH. */
  private readonly openByHand = new Map<string, boolean>();
  private searchText = '';
  private visibleCache: TreeNode[] | null = null;
  private overflowCount = 0;

  apply(updates: readonly TopicUpdate[], overflow: number, removed: readonly string[] = []): void {
    for (const topic of removed) this.remove(topic);
    for (const u of updates) {
      let leaf = this.topics.get(u.topic);
      if (!leaf) {
        leaf = this.insert(u.topic);
        this.topics.set(u.topic, leaf);
        for (let n: TreeNode | null = leaf; n; n = n.parent) n.topics += 1;
        this.visibleCache = null;
      }
      const added = u.count - (leaf.stats?.count ?? 0);
      if (added > 0) {
        for (let n: TreeNode | null = leaf; n && n !== this.root; n = n.parent) {
          n.total += added;
          n.branchRate.add(u.lastAt, added);
        }
      }
      const { rate, ...stats } = u;
      leaf.stats = { ...stats, rate: RateMeter.from(rate) };
    }
    this.overflowCount = overflow;
    if (updates.length > 0 || overflow > 0 || removed.length > 0) this.traffic.changed();
  }

  get(topic: string): TopicStats | undefined {
    return this.topics.get(topic)?.stats;
  }

  /** The level at `path` (a topic or a branch), if seen. */
  find(path: string): TreeNode | undefined {
    let at = this.root;
    for (const name of path.split('/')) {
      const child = at.children[place(at.children, name)];
      if (child?.name !== name) return undefined;
      at = child;
    }
    return at;
  }

  get size(): number {
    this.track();
    return this.topics.size;
  }

  /** Messages on topics past MAX_TOPICS, counted but not kept. */
  get overflow(): number {
    this.track();
    return this.overflowCount;
  }

  get search(): string {
    this.track();
    return this.searchText;
  }

  setSearch(query: string): void {
    if (query === this.searchText) return;
    this.searchText = query;
    this.visibleCache = null;
    this.actions.changed();
  }

  isOpen(n: TreeNode): boolean {
    return this.openByHand.get(n.path) ?? n.depth < OPEN_DEPTH;
  }

  /** Opens or closes a branch. */
  setOpen(path: string, open: boolean): void {
    this.openByHand.set(path, open);
    this.visibleCache = null;
    this.actions.changed();
  }

  /**
   * The levels one would see, depth first, children by name: those of open branches, or while searching
   * every level that leads to a topic the search finds (closed branches open for it).
   */
  visible(): readonly TreeNode[] {
    this.track();
    this.visibleCache ??= this.flatten();
    return this.visibleCache;
  }

  /** What the row of `n` shows now (figures read at `now`); a reader re-renders as they change. */
  row(n: TreeNode, now: number): TreeRow {
    this.track();
    const searching = this.searchText.trim() !== '';
    return {
      path: n.path,
      name: n.name,
      depth: n.depth,
      branch: n.children.length > 0,
      open: n.children.length > 0 && (searching || this.isOpen(n)),
      count: n.total,
      perSecond: n.branchRate.perSecond(now),
      topics: n.topics,
      stats: n.stats,
    };
  }

  private track(): void {
    this.traffic.track();
    this.actions.track();
  }

  private flatten(): TreeNode[] {
    const out: TreeNode[] = [];
    const matches = topicSearch(this.searchText);
    if (!matches) {
      const walk = (parent: TreeNode) => {
        for (const child of parent.children) {
          out.push(child);
          if (this.isOpen(child)) walk(child);
        }
      };
      walk(this.root);
      return out;
    }
    // A level is shown if a topic at or below it matches.
    const walk = (parent: TreeNode): boolean => {
      let any = false;
      for (const child of parent.children) {
        const at = out.length;
        out.push(child);
        const below = walk(child);
        if (below || (child.stats && matches(child.path))) any = true;
        else out.length = at;
      }
      return any;
    };
    walk(this.root);
    return out;
  }

  /** Takes a topic out, with its messages from its branches' counts, and the levels left empty. */
  private remove(topic: string): void {
    const leaf = this.topics.get(topic);
    if (!leaf) return;
    this.topics.delete(topic);
    const count = leaf.stats?.count ?? 0;
    delete leaf.stats;
    for (let n: TreeNode | null = leaf; n && n !== this.root; n = n.parent) {
      n.total -= count;
      n.topics -= 1;
    }
    for (let n: TreeNode = leaf; n !== this.root && n.children.length === 0 && !n.stats; n = n.parent!) {
      n.parent!.children.splice(n.parent!.children.indexOf(n), 1);
    }
    this.visibleCache = null;
  }

  private insert(topic: string): TreeNode {
    let parent = this.root;
    const levels = topic.split('/');
    levels.forEach((name, depth) => {
      const at = place(parent.children, name);
      let child = parent.children[at];
      if (child?.name !== name) parent.children.splice(at, 0, (child = node(name, levels.slice(0, depth + 1).join('/'), depth, parent)));
      parent = child;
    });
    return parent;
  }
}

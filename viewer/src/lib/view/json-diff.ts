/** One difference between two JSON values, at a path such as `a.b[2]` (`` for the whole value). */
export interface JsonChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** JSON text of the value before (removed, changed) and after (added, changed). */
  before?: string;
  after?: string;
}

/** At most this many changes are listed: a diff of two big payloads stays a short list. */
export const MAX_CHANGES = 200;

type Leaves = Map<string, string>;

function isContainer(v: unknown): v is Record<string, unknown> | unknown[] {
  return typeof v === 'object' && v !== null;
}

/** Every leaf of `value` (and every empty object or array) by path, as JSON text. */
function leaves(value: unknown, path: string, out: Leaves): Leaves {
  if (!isContainer(value)) out.set(path, JSON.stringify(value));
  else if (Array.isArray(value)) {
    if (value.length === 0) out.set(path, '[]');
    value.forEach((v, i) => leaves(v, `${path}[${i}]`, out));
  } else {
    const keys = Object.keys(value);
    if (keys.length === 0) out.set(path, '{}');
    for (const k of keys) leaves(value[k], path ? `${path}.${k}` : k, out);
  }
  return out;
}

/**
 * What changed from `before` to `after` (two parsed JSON payloads), leaf by leaf: fields added, removed or
 * changed, in the order of `after` then the removed ones; at most MAX_CHANGES.
 */
export function jsonDiff(before: unknown, after: unknown): JsonChange[] {
  const a = leaves(before, '', new Map());
  const b = leaves(after, '', new Map());
  const out: JsonChange[] = [];
  for (const [path, value] of b) {
    if (out.length >= MAX_CHANGES) return out;
    const old = a.get(path);
    if (old === undefined) out.push({ path, kind: 'added', after: value });
    else if (old !== value) out.push({ path, kind: 'changed', before: old, after: value });
  }
  for (const [path, value] of a) {
    if (out.length >= MAX_CHANGES) return out;
    if (!b.has(path)) out.push({ path, kind: 'removed', before: value });
  }
  return out;
}

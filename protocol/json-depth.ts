/**
 * How deeply JSON text nests, found by one pass over its characters without parsing it, so a hostile payload
 * (`[[[[…` 30,000 deep) is refused before anything recursive walks it. Brackets inside strings do not count.
 */
export function jsonNestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * A value named for a message without serializing it: a short string quoted (cut at 40 characters), a number,
 * boolean or null as itself, anything else by its kind. JSON.stringify of a deeply nested value overflows the stack.
 */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return v === undefined ? 'nothing' : `a ${typeof v}`;
}

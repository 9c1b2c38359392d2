/** MQTT topic filters (MQTT 3.1.1 section 4.7), for the broker's rights and the viewer's search alike. */

/** Whether `topic` (no wildcards) matches `filter` (may use + and #). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // [MQTT-4.7.2-1] a filter starting with a wildcard does not match topics starting with $
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether `filter` is a valid filter that uses a wildcard: `+` as a whole level, `#` as the whole last level. */
export function isWildcardFilter(filter: string): boolean {
  const levels = filter.split('/');
  const wild = levels.some((l) => l === '+' || l === '#');
  const valid = levels.every((l, i) => (l === '#' ? i === levels.length - 1 : !l.includes('#') && (l === '+' || !l.includes('+'))));
  return wild && valid;
}

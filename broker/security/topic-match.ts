/** Topic filter helpers for rights and ACL rules (MQTT 3.1.1 section 4.7). */
export { topicMatches } from '../../protocol/topic-filter';

/** Whether every topic `requested` (a subscription filter) can match is also matched by `allowed`. */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  // [MQTT-4.7.2-1] wildcards do not reach topics starting with $
  if (requested.startsWith('$') && !allowed.startsWith('$')) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true;
    if (i >= r.length) return false;
    if (r[i] === '#') return false; // the request reaches deeper than `allowed` allows
    if (a[i] === '+') continue;
    if (r[i] === '+' || a[i] !== r[i]) return false;
  }
  return a.length === r.length;
}

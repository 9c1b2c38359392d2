import { BROKER_TOPICS } from './refusal-notice';
import type { Refusal } from './refusal';

/** Nobody publishes under `$SYS/` or `$mqlive/`: those topics are the broker's own (reports, refusal notices). */
export function reservedTopic(topic: string): Refusal | null {
  if (topic.charCodeAt(0) !== 36) return null; // no '$': the hot path
  if (topic === '$SYS' || topic.startsWith('$SYS/')) return { reason: 'reserved_topic', why: '$SYS/ topics are reserved for the broker', disconnect: true };
  if (topic === BROKER_TOPICS.slice(0, -1) || topic.startsWith(BROKER_TOPICS)) return { reason: 'reserved_topic', why: `${BROKER_TOPICS} topics are written by the broker alone`, disconnect: true };
  return null;
}

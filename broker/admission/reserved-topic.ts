import type { Refusal } from './refusal';

/** Nobody publishes under `$SYS/`: those topics are the broker's own reports. */
export function reservedTopic(topic: string): Refusal | null {
  if (!topic.startsWith('$SYS/')) return null;
  return { reason: 'reserved_topic', why: '$SYS/ topics are reserved for the broker', disconnect: true };
}

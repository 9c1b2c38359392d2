import type { Limits } from '../security/limits';
import type { Refusal } from './refusal';

/** What is wrong with a topic or filter's length or depth, or null. */
export function topicShapeProblem(topic: string, limits: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>): string | null {
  if (topic.length > limits.maxTopicLength) return `topic of ${topic.length} characters (limit ${limits.maxTopicLength})`;
  if (levelsOver(topic, limits.maxTopicLevels)) return `topic of more than ${limits.maxTopicLevels} levels`;
  return null;
}

/** Whether a topic has more than `max` levels, counted without splitting it (this runs for every PUBLISH). */
function levelsOver(topic: string, max: number): boolean {
  let levels = 1;
  for (let at = topic.indexOf('/'); at !== -1; at = topic.indexOf('/', at + 1)) if (++levels > max) return true;
  return false;
}

/** An overlong or overdeep topic in a PUBLISH disconnects the client. */
export function topicShape(topic: string, limits: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>): Refusal | null {
  const problem = topicShapeProblem(topic, limits);
  return problem ? { reason: 'bad_topic', why: problem, disconnect: true } : null;
}

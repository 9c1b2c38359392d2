import type { Limits } from '../security/limits';
import type { Refusal } from './refusal';

/** What is wrong with a topic or filter's length or depth, or null. */
export function topicShapeProblem(topic: string, limits: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>): string | null {
  if (topic.length > limits.maxTopicLength) return `topic of ${topic.length} characters (limit ${limits.maxTopicLength})`;
  if (topic.split('/').length > limits.maxTopicLevels) return `topic of more than ${limits.maxTopicLevels} levels`;
  return null;
}

/** An overlong or overdeep topic in a PUBLISH disconnects the client. */
export function topicShape(topic: string, limits: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>): Refusal | null {
  const problem = topicShapeProblem(topic, limits);
  return problem ? { reason: 'bad_topic', why: problem, disconnect: true } : null;
}

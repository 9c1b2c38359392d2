import { describe, expect, it } from 'vitest';
import { topicShape, topicShapeProblem } from './topic-shape';

const limits = { maxTopicLength: 10, maxTopicLevels: 3 };

describe('topicShape', () => {
  it('says what is too long or too deep, and disconnects for it in a PUBLISH', () => {
    expect(topicShapeProblem('a/b/c', limits)).toBeNull();
    expect(topicShapeProblem('a/b/c/d', limits)).toBe('topic of more than 3 levels');
    expect(topicShapeProblem('//', limits)).toBeNull(); // three empty levels
    expect(topicShapeProblem('///', limits)).toBe('topic of more than 3 levels');
    expect(topicShapeProblem('a/b/', limits)).toBeNull();
    expect(topicShapeProblem('abcdefghijk', limits)).toBe('topic of 11 characters (limit 10)');
    expect(topicShape('a/b/c/d', limits)).toMatchObject({ reason: 'bad_topic', disconnect: true });
    expect(topicShape('a', limits)).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { count } from './text';

describe('count', () => {
  it('puts the noun in the singular for one only ("1 topics" was shown)', () => {
    expect(count(1, 'topic')).toBe('1 topic');
    expect(count(0, 'topic')).toBe('0 topics');
    expect(count(2, 'retained message')).toBe('2 retained messages');
    expect(count(3, 'child', 'children')).toBe('3 children');
  });
});

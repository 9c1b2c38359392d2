import { describe, expect, it } from 'vitest';
import { MAX_HEARD_TOPICS, StoredMessages } from './stored-messages';

describe('StoredMessages', () => {
  it('over MQTT 3.1.1 follows the retain flag', () => {
    const stored = new StoredMessages();
    expect(stored.fromStore('a', true, false)).toBe(true);
    expect(stored.fromStore('a', true, false)).toBe(true);
    expect(stored.fromStore('a', false, false)).toBe(false);
  });

  it('with retain-as-published takes only the first retained message of a topic as stored, again after a new subscription or connection', () => {
    const stored = new StoredMessages();
    expect(stored.fromStore('a/b', true, true)).toBe(true);
    expect(stored.fromStore('a/b', true, true)).toBe(false);
    expect(stored.fromStore('c', false, true)).toBe(false);
    expect(stored.fromStore('c', true, true)).toBe(false);
    stored.subscribed('a/#');
    expect(stored.fromStore('a/b', true, true)).toBe(true);
    expect(stored.fromStore('c', true, true)).toBe(false);
    stored.clear();
    expect(stored.fromStore('c', true, true)).toBe(true);
  });

  it('remembers a bounded number of topics, and past them trusts the flag', () => {
    const stored = new StoredMessages();
    for (let i = 0; i < MAX_HEARD_TOPICS; i++) stored.fromStore(`t/${i}`, false, true);
    expect(stored.fromStore('late', true, true)).toBe(true);
    expect(stored.fromStore('late', true, true)).toBe(true);
    expect(stored.fromStore('t/1', true, true)).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { MAX_SAVED_SUBSCRIPTIONS, rememberBroker, rememberedBroker, savedSubscriptions, saveSubscriptions } from './saved-brokers';

function memoryStorage() {
  const items = new Map<string, string>();
  return { items, getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k) };
}

describe('saved brokers and subscriptions', () => {
  it('remembers a broker without its password unless asked to, and forgets it', () => {
    const storage = memoryStorage();
    rememberBroker(storage, { url: 'ws://b:9001/mqtt', username: 'alice' });
    expect(rememberedBroker(storage)).toEqual({ url: 'ws://b:9001/mqtt', username: 'alice' });
    expect([...storage.items.values()].join()).not.toContain('password');
    rememberBroker(storage, { url: 'ws://b:9001/mqtt', username: 'alice', password: 'pw' });
    expect(rememberedBroker(storage)?.password).toBe('pw');
    rememberBroker(storage, null);
    expect(rememberedBroker(storage)).toBeNull();
    storage.setItem('mqlive.broker', '{not json');
    expect(rememberedBroker(storage)).toBeNull();
    storage.setItem('mqlive.broker', JSON.stringify({ url: 'javascript:alert(1)' }));
    expect(rememberedBroker(storage)).toBeNull();
  });

  it('keeps subscriptions per broker URL, valid ones only, capped', () => {
    const storage = memoryStorage();
    saveSubscriptions(storage, 'ws://a/mqtt', [{ filter: '#', qos: 0 }]);
    saveSubscriptions(storage, 'ws://b/mqtt', [{ filter: 'lab/+/temp', qos: 1 }]);
    expect(savedSubscriptions(storage, 'ws://a/mqtt')).toEqual([{ filter: '#', qos: 0 }]);
    expect(savedSubscriptions(storage, 'ws://b/mqtt')).toEqual([{ filter: 'lab/+/temp', qos: 1 }]);
    storage.setItem('mqlive.subscriptions:ws://c/mqtt', JSON.stringify([{ filter: 'x', qos: 2 }, { filter: '', qos: 0 }, 'y', { filter: 'ok', qos: 1, extra: true }]));
    expect(savedSubscriptions(storage, 'ws://c/mqtt')).toEqual([{ filter: 'ok', qos: 1 }]);
    saveSubscriptions(storage, 'ws://d/mqtt', Array.from({ length: 500 }, (_, i) => ({ filter: `t/${i}`, qos: 0 as const })));
    expect(savedSubscriptions(storage, 'ws://d/mqtt')).toHaveLength(MAX_SAVED_SUBSCRIPTIONS);
    saveSubscriptions(storage, 'ws://a/mqtt', []);
    expect(storage.items.has('mqlive.subscriptions:ws://a/mqtt')).toBe(false);
  });
});

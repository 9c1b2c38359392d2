import { describe, expect, it } from 'vitest';
import {
  deleteConnection,
  MAX_CONNECTION_NAME,
  MAX_SAVED_CONNECTIONS,
  MAX_SAVED_SUBSCRIPTIONS,
  rememberBroker,
  rememberedBroker,
  renameConnection,
  saveConnection,
  savedConnections,
  savedSubscriptions,
  saveSubscriptions,
} from './saved-brokers';

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

  // Issue 29, item 13: several saved connections, with a quick switch.
  it('turns the one broker remembered before into the first saved connection, password and all', () => {
    const storage = memoryStorage();
    expect(savedConnections(storage)).toEqual([]);
    rememberBroker(storage, { url: 'ws://lab:9001/mqtt', username: 'carol', password: 'pw' });
    expect(savedConnections(storage)).toEqual([{ name: 'lab:9001', url: 'ws://lab:9001/mqtt', username: 'carol', password: 'pw' }]);
    // Saving another keeps it: the list is written with both.
    saveConnection(storage, { name: 'home', url: 'ws://home/mqtt', username: '' });
    rememberBroker(storage, null);
    expect(savedConnections(storage).map((c) => c.name)).toEqual(['lab:9001', 'home']);
  });

  it('saves one entry per URL and user name, keeps a password only when given, renames and deletes', () => {
    const storage = memoryStorage();
    saveConnection(storage, { name: '', url: 'ws://b/mqtt', username: 'alice', password: 'a-pw' });
    saveConnection(storage, { name: 'b as root', url: 'ws://b/mqtt', username: 'root' });
    expect(savedConnections(storage)).toEqual([
      { name: 'b', url: 'ws://b/mqtt', username: 'alice', password: 'a-pw' },
      { name: 'b as root', url: 'ws://b/mqtt', username: 'root' },
    ]);
    // Saved again without the password: the stored one is forgotten, and the name is the new one.
    saveConnection(storage, { name: 'alice on b', url: 'ws://b/mqtt', username: 'alice' });
    expect(savedConnections(storage)[0]).toEqual({ name: 'alice on b', url: 'ws://b/mqtt', username: 'alice' });
    expect(JSON.stringify([...storage.items])).not.toContain('a-pw');
    renameConnection(storage, { url: 'ws://b/mqtt', username: 'root' }, '  ' + 'x'.repeat(100));
    expect(savedConnections(storage)[1]!.name).toBe('x'.repeat(MAX_CONNECTION_NAME));
    renameConnection(storage, { url: 'ws://b/mqtt', username: 'root' }, '   ');
    expect(savedConnections(storage)[1]!.name).toBe('b');
    // Deleting the one the page opens with: it opens with it no more.
    rememberBroker(storage, { url: 'ws://b/mqtt', username: 'alice' });
    deleteConnection(storage, { url: 'ws://b/mqtt', username: 'alice' });
    expect(savedConnections(storage).map((c) => c.username)).toEqual(['root']);
    expect(rememberedBroker(storage)).toBeNull();
    // Deleting the last one leaves an empty list, not the old single broker again.
    deleteConnection(storage, { url: 'ws://b/mqtt', username: 'root' });
    expect(savedConnections(storage)).toEqual([]);
  });

  it('keeps at most 20, refusing the 21st with what to do, and reads only what is a connection', () => {
    const storage = memoryStorage();
    for (let i = 0; i < MAX_SAVED_CONNECTIONS; i++) saveConnection(storage, { name: `n${i}`, url: `ws://h${i}/mqtt`, username: '' });
    expect(() => saveConnection(storage, { name: 'one more', url: 'ws://more/mqtt', username: '' })).toThrow(/^20 saved connections at most: delete one first$/);
    saveConnection(storage, { name: 'renamed', url: 'ws://h3/mqtt', username: '' }); // an update still fits
    expect(savedConnections(storage)).toHaveLength(MAX_SAVED_CONNECTIONS);
    expect(savedConnections(storage)[3]!.name).toBe('renamed');
    // Written by someone else: too many, duplicates, other schemes, not objects.
    const junk = [{ url: 'javascript:alert(1)' }, 'x', null, { url: 'ws://d/mqtt', name: 7, password: 1 }, { url: 'ws://d/mqtt' }];
    storage.setItem('mqlive.connections', JSON.stringify([...junk, ...Array.from({ length: 50 }, (_, i) => ({ name: `m${i}`, url: `wss://m${i}/mqtt`, username: 'u' }))]));
    const read = savedConnections(storage);
    expect(read).toHaveLength(MAX_SAVED_CONNECTIONS);
    expect(read[0]).toEqual({ name: 'd', url: 'ws://d/mqtt', username: '' });
    expect(read[1]).toEqual({ name: 'm0', url: 'wss://m0/mqtt', username: 'u' });
    storage.setItem('mqlive.connections', '{broken');
    expect(savedConnections(storage)).toEqual([]);
  });
});

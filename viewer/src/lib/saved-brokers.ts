import type { SavedSubscription } from './bridge';

type KeyValueStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const BROKER_KEY = 'mqlive.broker';
const SUBSCRIPTIONS_KEY = 'mqlive.subscriptions:';
/** Filters kept per broker at most (the broker's own cap is 1,000 per client). */
export const MAX_SAVED_SUBSCRIPTIONS = 100;

/** A broker the person asked the page to remember. `password` only when they ticked that it is stored here. */
export interface RememberedBroker {
  url: string;
  username: string;
  password?: string;
}

function read(storage: KeyValueStorage | null, key: string): unknown {
  try {
    return JSON.parse(storage?.getItem(key) ?? 'null');
  } catch {
    return null; // someone else's or a broken value: as if nothing were kept
  }
}

/** The remembered broker, or null; a value that is not one is ignored. */
export function rememberedBroker(storage: KeyValueStorage | null): RememberedBroker | null {
  const kept = read(storage, BROKER_KEY) as Partial<RememberedBroker> | null;
  if (typeof kept?.url !== 'string' || !/^wss?:\/\//.test(kept.url)) return null;
  const broker: RememberedBroker = { url: kept.url, username: typeof kept.username === 'string' ? kept.username : '' };
  if (typeof kept.password === 'string') broker.password = kept.password;
  return broker;
}

/** Remembers the broker (and the password only if `password` is given), or forgets it with null. */
export function rememberBroker(storage: KeyValueStorage | null, broker: RememberedBroker | null): void {
  if (!broker) return storage?.removeItem(BROKER_KEY);
  const { url, username, password } = broker;
  storage?.setItem(BROKER_KEY, JSON.stringify(password === undefined ? { url, username } : { url, username, password }));
}

/** The filters the person added for this broker URL, in the order added. */
export function savedSubscriptions(storage: KeyValueStorage | null, url: string): SavedSubscription[] {
  const kept = read(storage, SUBSCRIPTIONS_KEY + url);
  if (!Array.isArray(kept)) return [];
  return kept
    .filter((s): s is SavedSubscription => typeof s?.filter === 'string' && s.filter !== '' && (s.qos === 0 || s.qos === 1))
    .slice(0, MAX_SAVED_SUBSCRIPTIONS)
    .map(({ filter, qos }) => ({ filter, qos }));
}

export function saveSubscriptions(storage: KeyValueStorage | null, url: string, subscriptions: SavedSubscription[]): void {
  if (subscriptions.length === 0) storage?.removeItem(SUBSCRIPTIONS_KEY + url);
  else storage?.setItem(SUBSCRIPTIONS_KEY + url, JSON.stringify(subscriptions.slice(0, MAX_SAVED_SUBSCRIPTIONS)));
}

const CONNECTIONS_KEY = 'mqlive.connections';
/** Saved connections at most (a list to pick from in the header, not an address book). */
export const MAX_SAVED_CONNECTIONS = 20;
/** A saved connection's name, at most this many characters. */
export const MAX_CONNECTION_NAME = 60;

/** A broker kept in the list of saved connections: a name to pick it by, its URL and user name (`password` as above). */
export interface SavedConnection extends RememberedBroker {
  name: string;
}

/** The name a connection gets when none is given: the broker's host and port. */
export function defaultConnectionName(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return url;
  }
}

function cleanName(name: string, url: string): string {
  return name.trim().slice(0, MAX_CONNECTION_NAME) || defaultConnectionName(url);
}

/** One connection is one broker URL with one user name: the same broker as alice and as root are two. */
export function sameConnection(a: Pick<RememberedBroker, 'url' | 'username'>, b: Pick<RememberedBroker, 'url' | 'username'>): boolean {
  return a.url === b.url && a.username === b.username;
}

/**
 * The saved connections, in the order saved. Before there was a list the page remembered one broker: while no
 * list is kept, that broker is the list's one entry (so nothing remembered is lost).
 */
export function savedConnections(storage: KeyValueStorage | null): SavedConnection[] {
  const kept = read(storage, CONNECTIONS_KEY);
  if (!Array.isArray(kept)) {
    const one = rememberedBroker(storage);
    return one ? [{ name: defaultConnectionName(one.url), ...one }] : [];
  }
  const list: SavedConnection[] = [];
  for (const entry of kept as Partial<SavedConnection>[]) {
    if (typeof entry?.url !== 'string' || !/^wss?:\/\//.test(entry.url)) continue;
    const connection: SavedConnection = { name: cleanName(typeof entry.name === 'string' ? entry.name : '', entry.url), url: entry.url, username: typeof entry.username === 'string' ? entry.username : '' };
    if (typeof entry.password === 'string') connection.password = entry.password;
    if (list.some((c) => sameConnection(c, connection))) continue;
    list.push(connection);
    if (list.length === MAX_SAVED_CONNECTIONS) break;
  }
  return list;
}

function keep(storage: KeyValueStorage | null, list: SavedConnection[]): SavedConnection[] {
  storage?.setItem(CONNECTIONS_KEY, JSON.stringify(list.map(({ name, url, username, password }) => (password === undefined ? { name, url, username } : { name, url, username, password }))));
  return list;
}

/**
 * Saves a connection, or updates the one with its URL and user name (its name, and its password: kept only when
 * given, so saving without one forgets a stored one). An empty name is the broker's host. Throws when the list is full.
 */
export function saveConnection(storage: KeyValueStorage | null, connection: SavedConnection): SavedConnection[] {
  const list = savedConnections(storage);
  const { url, username, password } = connection;
  const saved: SavedConnection = { name: cleanName(connection.name, url), url, username, ...(password !== undefined && { password }) };
  const at = list.findIndex((c) => sameConnection(c, saved));
  if (at >= 0) list[at] = saved;
  else if (list.length >= MAX_SAVED_CONNECTIONS) throw new Error(`${MAX_SAVED_CONNECTIONS} saved connections at most: delete one first`);
  else list.push(saved);
  return keep(storage, list);
}

/** Gives a saved connection another name (an empty one: the broker's host). */
export function renameConnection(storage: KeyValueStorage | null, which: Pick<RememberedBroker, 'url' | 'username'>, name: string): SavedConnection[] {
  return keep(storage, savedConnections(storage).map((c) => (sameConnection(c, which) ? { ...c, name: cleanName(name, c.url) } : c)));
}

/** Deletes a saved connection; if the page opens with it, the page forgets that too. */
export function deleteConnection(storage: KeyValueStorage | null, which: Pick<RememberedBroker, 'url' | 'username'>): SavedConnection[] {
  const list = savedConnections(storage).filter((c) => !sameConnection(c, which));
  const opening = rememberedBroker(storage);
  if (opening && sameConnection(opening, which)) rememberBroker(storage, null);
  return keep(storage, list);
}

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

/** Where the page connects: a WebSocket URL, or why the one it was given cannot be used. */
export type BrokerAddress = { url: string; problem: null } | { url: ''; problem: string };

/** The broker's MQTT-over-WebSocket URL: `?broker=ws://host:port/mqtt`, else this page's origin at /mqtt. */
export function brokerUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): BrokerAddress {
  const override = new URLSearchParams(location.search).get('broker');
  if (override) {
    const problem = brokerProblem(override);
    return problem ? { url: '', problem } : { url: override, problem: null };
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { url: `${scheme}//${location.host}/mqtt`, problem: null };
}

function brokerProblem(given: string): string | null {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return `?broker=${given} is not a URL: give the broker's WebSocket address, e.g. ?broker=ws://host:8080/mqtt (wss:// with TLS).`;
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return null;
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const ws = `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}/mqtt`;
    return `?broker=${given} is a web page address; MQTT over WebSocket needs ?broker=${ws}`;
  }
  return `?broker=${given} is not a WebSocket address: use ?broker=ws://host:8080/mqtt (wss:// with TLS).`;
}

/** Whether the broker is this page's own origin (ws↔http, wss↔https, same host and port). */
export function isPageOrigin(broker: string, location: Pick<Location, 'protocol' | 'host'>): boolean {
  try {
    const url = new URL(broker);
    const scheme = url.protocol === 'wss:' ? 'https:' : url.protocol === 'ws:' ? 'http:' : '';
    return scheme === location.protocol && url.host === location.host;
  } catch {
    return false;
  }
}

const ID_KEY = 'mqlive.viewerId';
const TAB_KEY = 'mqlive.tabId';
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

function randomHex(bytes: number): string {
  // getRandomValues works on plain http too, where randomUUID does not.
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function stored(storage: Pick<Storage, 'getItem' | 'setItem'> | null, key: string, make: () => string, valid: RegExp): string {
  const kept = storage?.getItem(key);
  if (kept && valid.test(kept)) return kept;
  const made = make();
  storage?.setItem(key, made);
  return made;
}

/**
 * This tab's MQTT client id and its clients/{id}/messages topic: the browser's id (localStorage) and a tab
 * suffix (sessionStorage), so two tabs never take each other's connection while a reload keeps its id.
 */
export function viewerId(
  browserStorage: Pick<Storage, 'getItem' | 'setItem'> | null,
  tabStorage: Pick<Storage, 'getItem' | 'setItem'> | null,
): string {
  const browser = stored(browserStorage, ID_KEY, () => `viewer-${randomHex(4)}`, ID_PATTERN);
  const tab = stored(tabStorage, TAB_KEY, () => randomHex(3), /^[0-9a-f]{6}$/);
  const id = `${browser}-${tab}`;
  return ID_PATTERN.test(id) ? id : `viewer-${randomHex(4)}-${tab}`;
}

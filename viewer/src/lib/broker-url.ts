/** The broker's MQTT-over-WebSocket URL: `?broker=ws://host:port/mqtt`, else this page's origin at /mqtt. */
export function brokerUrl(location: Pick<Location, 'protocol' | 'host' | 'search'>): string {
  const override = new URLSearchParams(location.search).get('broker');
  if (override && /^wss?:\/\/[^/]+/.test(override)) return override;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/mqtt`;
}

const ID_KEY = 'mqlive.viewerId';

/** A stable id for this browser: its MQTT client id and its clients/{id}/messages topic. */
export function viewerId(storage: Pick<Storage, 'getItem' | 'setItem'> | null): string {
  const stored = storage?.getItem(ID_KEY);
  if (stored && /^[A-Za-z0-9_-]{1,64}$/.test(stored)) return stored;
  // getRandomValues works on plain http too, where randomUUID does not.
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  const id = 'viewer-' + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  storage?.setItem(ID_KEY, id);
  return id;
}

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

/** What is wrong with a broker address typed or given as `?broker=` (`as` is how the person gave it), or null. */
export function brokerProblem(given: string, as = '?broker='): string | null {
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return `${as}${given} is not a URL: give the broker's WebSocket address, e.g. ${as}ws://host:8080/mqtt (wss:// with TLS).`;
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') return null;
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const ws = `${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}/mqtt`;
    return `${as}${given} is a web page address; MQTT over WebSocket needs ${as}${ws}`;
  }
  return `${as}${given} is not a WebSocket address: use ${as}ws://host:8080/mqtt (wss:// with TLS).`;
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

/**
 * Which broker a URL names, for the connection form's ticks ("I trust", "store the password"), which hold for one
 * broker only: scheme, host, port and path; the same broker written differently (case, default port) is the same.
 */
export function brokerIdentity(broker: string): string {
  try {
    const url = new URL(broker.trim());
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return broker.trim();
  }
}

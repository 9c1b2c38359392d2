/**
 * Browsers send an Origin header with a WebSocket upgrade; other MQTT clients send none and are not
 * affected. Allowed by default: the broker's own origin (the page it serves) and any localhost origin.
 */
export function originAllowed(origin: string, host: string | undefined, allowed: string[] | null): boolean {
  if (allowed) return allowed.includes('*') || allowed.includes(origin);
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (host !== undefined && url.host === host) return true;
  return url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/**
 * Whether a request's Host header names this broker: the defence against DNS rebinding, where a page from an
 * attacker's name, later made to resolve to this machine, would otherwise be same-origin with the broker.
 * Allowed: any IP address (a rebinding needs a name), `localhost` and its subdomains, the address the broker is
 * bound to, and the `allowed` names (`*` allows any). No Host at all (HTTP/1.0 tools) passes.
 */
export function hostAllowed(hostHeader: string | undefined, bindHost: string, allowed: readonly string[]): boolean {
  if (hostHeader === undefined) return true;
  const name = hostHeader.toLowerCase().replace(/:\d*$/, '');
  if (name.startsWith('[') && name.endsWith(']')) return true; // an IPv6 address
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (name === bindHost.toLowerCase()) return true;
  return allowed.some((a) => a === '*' || a.toLowerCase() === name);
}

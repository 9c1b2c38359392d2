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

import type { ServerResponse } from 'node:http';

/**
 * The viewer's Content-Security-Policy, sent with every response of the HTTP port. Only the built viewer's own
 * files run or style the page (Svelte sets dynamic styles through the CSSOM, which 'self' allows, so there is no
 * 'unsafe-inline'); no page of another origin may frame it (clickjacking); connect-src allows this broker and any
 * ws:/wss: broker, because the person may type another broker's address in the connection form (docs/broker.md, Security).
 * The same policy also governs the viewer's Web Worker, which gets it with its script and opens the WebSocket.
 */
export function contentSecurityPolicy(extraStyleSources: string[] = []): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${["'self'", ...extraStyleSources].join(' ')}`,
    "img-src 'self' data:", // the page's icon is `data:,` (no request for /favicon.ico)
    "connect-src 'self' ws: wss:",
    "worker-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'", // the connection form is handled by the page; it never submits anywhere
  ].join('; ');
}

const VIEWER_POLICY = contentSecurityPolicy();

/**
 * Sets the headers every response of the HTTP port carries (pages, files, errors, /healthz, /metrics): no MIME
 * sniffing, no Referer to other sites, and no framing by anyone (X-Frame-Options for browsers without CSP 2).
 * A response may replace the policy afterwards (the not-built page allows its own inline style by hash).
 */
export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
}

const SECURITY_HEADERS: [string, string][] = [
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['x-frame-options', 'DENY'],
  ['content-security-policy', VIEWER_POLICY],
];

const REASONS: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * A whole refusal written straight to a socket, where no ServerResponse exists (a refused WebSocket upgrade, a
 * request Node could not parse), with the same headers as every other answer, and the connection closed.
 */
export function rawRefusal(status: number): string {
  const headers = SECURITY_HEADERS.map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n${headers}content-length: 0\r\nconnection: close\r\n\r\n`;
}

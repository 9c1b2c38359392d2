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
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('content-security-policy', VIEWER_POLICY);
}

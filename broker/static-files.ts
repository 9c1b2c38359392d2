import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { contentSecurityPolicy } from './http-headers';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

// Its one style is a <style> element allowed by its hash: the page's CSP has no 'unsafe-inline'.
const NOT_BUILT_STYLE = 'body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5 }';
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mqlive: viewer not built</title><style>${NOT_BUILT_STYLE}</style></head>
<body>
<h1>The mqlive viewer is not built yet</h1>
<p>The broker is running, but it has no viewer to serve. Build it with</p>
<pre>npm run build:viewer</pre>
<p>or run <code>make up</code>, which builds it when it is missing or stale. Then reload this page.</p>
<p>MQTT over WebSocket already works at <code>/mqtt</code>.</p>
</body></html>
`;
const NOT_BUILT_POLICY = contentSecurityPolicy([`'sha256-${createHash('sha256').update(NOT_BUILT_STYLE).digest('base64')}'`]);

/** Serves the built viewer from `root`; a clear page (503) when it is not built. */
export async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    return send(res, 400, 'text/plain; charset=utf-8', 'bad request\n');
  }
  const relative = normalize(pathname === '/' ? '/index.html' : pathname);
  const file = join(root, relative);
  if (!file.startsWith(root + sep)) return send(res, 403, 'text/plain; charset=utf-8', 'forbidden\n');

  const info = await stat(file).catch(() => null);
  if (info?.isFile()) {
    res.writeHead(200, {
      'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      // Vite puts a content hash in asset names: those may be cached for good, index.html never.
      'cache-control': relative.startsWith(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file).pipe(res);
    return;
  }
  const indexExists = await stat(join(root, 'index.html')).then((s) => s.isFile(), () => false);
  if (!indexExists) {
    res.setHeader('content-security-policy', NOT_BUILT_POLICY);
    return send(res, 503, 'text/html; charset=utf-8', NOT_BUILT_PAGE);
  }
  send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

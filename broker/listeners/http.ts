import type { Aedes } from 'aedes';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { rawRefusal, setSecurityHeaders } from '../http-headers';
import { printable, type Logger } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { RedisBackend } from '../redis';
import type { Limits } from '../security/limits';
import { hostAllowed } from '../security/origins';
import { serveStatic } from '../static-files';
import type { Connections } from './connections';

/** Whether a request names this broker in its Host header (security/origins.ts): the DNS rebinding defence. */
export class HostCheck {
  constructor(
    private readonly host: string,
    private readonly allowedHosts: string[],
    private readonly connections: Connections,
    private readonly metrics: BrokerMetrics,
  ) {}

  /** True when allowed; otherwise logs, counts, calls `refuse` (which answers 403) and returns false. */
  passes(req: IncomingMessage, refuse: () => void): boolean {
    if (hostAllowed(req.headers.host, this.host, this.allowedHosts)) return true;
    this.metrics.connectionsRefused += 1;
    this.connections.refusals.warn(
      { event: 'host_refused', host: req.headers.host, remote: req.socket.remoteAddress },
      `Refused a request for host ${printable(req.headers.host ?? '')}: not a name this broker serves (see --allowed-hosts)`,
    );
    refuse();
    return false;
  }
}

/** What the HTTP port answers: /healthz, /metrics and the built viewer (GET and HEAD only). */
export function httpRoutes(parts: { aedes: Aedes; redis: RedisBackend | null; metrics: BrokerMetrics; log: Logger; viewerDir: string; hostCheck: HostCheck }): RequestListener {
  const { aedes, redis, metrics, log, viewerDir, hostCheck } = parts;
  return (req, res) => {
    setSecurityHeaders(res); // every answer, refusals and errors included (CSP, no framing, nosniff)
    if (!hostCheck.passes(req, () => res.writeHead(403, { 'content-type': 'text/plain' }).end('this broker does not serve that host name\n'))) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const status = aedes.closed ? 'closing' : redis && !redis.healthy() ? 'redis-down' : 'ok';
      res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      // 503 while Redis is down, so that load balancers send new clients elsewhere; this instance still serves
      // clean sessions from here (outage-admission.ts).
      const serving = status === 'redis-down' ? { serving: 'local-clients' } : {};
      return void res.end(JSON.stringify({ status, ...serving, id: aedes.id, clients: aedes.connectedClients }) + '\n');
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      return void res.end(metrics.render());
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      return void res.end();
    }
    serveStatic(viewerDir, req, res).catch((error: Error) => {
      log.error({ err: error.message, url: req.url }, 'could not serve a viewer file');
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
}

/**
 * The HTTP (or HTTPS) server: slow or idle connections are closed (slowloris; Node checks these timeouts every
 * connectionsCheckingInterval), and every connection (page, /metrics, WebSocket) counts against the same caps as
 * MQTT ones.
 */
export function httpListener(routes: RequestListener, connections: Connections, limits: Limits, tls: { cert: Buffer; key: Buffer } | null): HttpServer {
  const options = {
    headersTimeout: limits.httpHeadersTimeoutMs,
    requestTimeout: limits.httpRequestTimeoutMs,
    keepAliveTimeout: limits.httpKeepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.httpHeadersTimeoutMs),
  };
  const server: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, ...options }, routes) : createHttpServer(options, routes);
  server.keepAliveTimeout = limits.httpKeepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => void connections.admit(socket));
  // A request Node cannot parse, or too slow or too large, gets its refusal with the same headers as any answer.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    socket.end(rawRefusal(status));
  });
  return server;
}

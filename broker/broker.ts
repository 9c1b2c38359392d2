import type { Aedes } from 'aedes';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { createAedesBroker } from './aedes-broker';
import { installQoS0Delivery } from './qos0-delivery';
import { checkClientInternals } from './client-internals';
import { checkPinnedVersions, installedVersion, requireInternal } from './library-internals';
import { checkingParserAvailable, useLeanParser, usePlainPacketNumbers } from './packet-memory';
import { ClientConnection, DEFAULT_CONNECTION_LIMITS, type CutOffHandler, type ConnectionLimits } from './client-connection';
import type { Logger } from './log';
import { LogLimiter, printable } from './log';
import { BrokerMetrics } from './metrics';
import { ConnectionCounter, DEFAULT_LIMITS, type Limits } from './security/limits';
import { hostAllowed, originAllowed } from './security/origins';
import { Rights, type AclRule } from './security/rights';
import type { UsersFile } from './security/users';
import type { RedisBackend } from './redis';
import { setSecurityHeaders } from './http-headers';
import { serveStatic } from './static-files';

export const DEFAULT_VIEWER_DIR = fileURLToPath(new URL('../viewer/dist', import.meta.url));
export const WEBSOCKET_PATH = '/mqtt';
/** MQTT over WebSocket subprotocols, in order of preference: MQTT 3.1.1 (`mqtt`), then MQTT 3.1. */
const WEBSOCKET_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** MQTT over TLS port (default 8883). */
  port: number;
}

export interface BrokerOptions {
  host: string;
  mqttPort: number;
  httpPort: number;
  viewerDir?: string;
  log: Logger;
  outbound?: ConnectionLimits;
  limits?: Partial<Limits>;
  /** A users file turns on logins; without one every client is anonymous (and may do everything). */
  users?: UsersFile | null;
  allowAnonymous?: boolean;
  acl?: AclRule[];
  tls?: TlsFiles | null;
  /** Origins allowed to open /mqtt from a browser; default: the page's own origin and localhost. */
  allowedOrigins?: string[] | null;
  /** Host names (besides IP addresses, localhost and `host`) that requests may name in their Host header. */
  allowedHosts?: string[] | null;
  /** Shared Redis for several instances (broker/redis.ts); in-memory without it. */
  redis?: RedisBackend | null;
  /** This instance's id, in logs, /metrics and $SYS topics. */
  id?: string;
}

export interface RunningBroker {
  id: string;
  aedes: Aedes;
  metrics: BrokerMetrics;
  mqttPort: number;
  httpPort: number;
  mqttsPort: number | null;
  mqttUrl: string;
  mqttsUrl: string | null;
  wsUrl: string;
  httpUrl: string;
  /** The HTTP server's timeouts, in ms, as set (see Limits). */
  httpTimeouts: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number };
  close(): Promise<void>;
}

/** A listener could not bind its port: says which port and which flag changes it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(
    readonly host: string,
    readonly port: number,
    readonly flag: string,
  ) {
    super(`port ${port} on ${host} is already in use: stop what holds it, or choose another with --${flag} N (0 picks a free one)`);
  }
}

/** Starts Aedes with its listeners: MQTT over TCP, optionally MQTT over TLS, and HTTP(S) for the viewer, /mqtt, /healthz and /metrics. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { host, log } = options;
  const viewerDir = options.viewerDir ?? DEFAULT_VIEWER_DIR;
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = new BrokerMetrics();
  checkPinnedVersions();
  usePlainPacketNumbers();
  requireInternal(checkingParserAvailable(), 'mqtt-packet', "bl's BufferList (the parser's buffer, packet-memory.ts)");
  const users = options.users ?? null;
  const rights = new Rights(options.acl ?? [], users === null);
  const redis = options.redis ?? null;
  const aedes = await createAedesBroker(
    log,
    metrics,
    { users, allowAnonymous: options.allowAnonymous ?? false, rights, limits },
    { id: options.id, mq: redis?.mq, persistence: redis?.persistence },
  );
  checkClientInternals(aedes);
  redis?.watch(aedes);
  // One listener for all clients (not one per client: an idle connection stays light).
  aedes.on('clientReady', (client) => {
    if (client.conn instanceof ClientConnection) client.conn.connectAccepted();
  });
  metrics.instanceId = aedes.id;
  const outbound: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.outbound, maxPacketBytes: limits.maxPacketBytes };
  const counter = new ConnectionCounter(limits);
  const refusals = new LogLimiter(log);
  const tls = options.tls ?? null;

  /** Counts the connection against the limits; false (and the socket closed) when it is one too many. */
  const admit = (socket: Socket | Duplex & { remoteAddress?: string }): boolean => {
    const address = socket.remoteAddress ?? 'unknown';
    const refused = counter.admit(address);
    if (refused) {
      metrics.connectionsRefused += 1;
      refusals.warn({ event: 'connection_refused', remote: address }, `Refused a connection: ${refused}`);
      socket.destroy();
      return false;
    }
    socket.on('close', () => counter.release(address)); // 'close' comes once: `once` would add a wrapper per connection
    return true;
  };

  /** Hands a connection to Aedes; a client that stops reading or sends too much is cut off (see ClientConnection). */
  const handle = (make: (onCutOff: CutOffHandler) => ClientConnection, req?: IncomingMessage) => {
    const conn = make((reason, kind) => {
      if (kind === 'slow') metrics.slowClientsCutOff += 1;
      else metrics.oversizePackets += 1;
      // Its id once its CONNECT was accepted (read here rather than kept: one listener less per connection). A
      // cut-off comes from input, a timer or a flush, all after aedes.handle below has returned `client`.
      const clientId = client.connected ? client.id : '(before CONNECT)';
      log.warn({ event: 'client_cut_off', kind, clientId, remote: conn.remoteAddress, reason }, `Cut off ${kind === 'slow' ? 'slow ' : ''}client ${printable(clientId)}: ${reason}`);
    });
    const client = aedes.handle(conn, req);
    // Without the checked parser, strings MQTT forbids would get through: refuse the connection rather than that.
    if (!useLeanParser(client)) {
      log.error({ event: 'parser_unavailable' }, `Closed a connection: mqtt-packet's parser is not as mqlive expects (mqtt-packet ${installedVersion('mqtt-packet')})`);
      return void conn.destroy();
    }
    installQoS0Delivery(client, conn);
  };

  const onMqttSocket = (socket: Socket) => {
    if (!admit(socket)) return;
    metrics.trackSocket(socket);
    socket.setNoDelay(true); // writes are already batched per event-loop turn
    handle((onCutOff) => ClientConnection.fromSocket(socket, outbound, onCutOff));
  };
  const tcpServer = createTcpServer(onMqttSocket);
  const tlsServer = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, onMqttSocket) : null;

  /** Answers 403 to a request whose Host is not a name of this broker (security/origins.ts); false then. */
  const hostChecked = (req: IncomingMessage, refuse: () => void): boolean => {
    if (hostAllowed(req.headers.host, host, options.allowedHosts ?? [])) return true;
    metrics.connectionsRefused += 1;
    refusals.warn({ event: 'host_refused', host: req.headers.host, remote: req.socket.remoteAddress }, `Refused a request for host ${printable(req.headers.host ?? '')}: not a name this broker serves (see --allowed-hosts)`);
    refuse();
    return false;
  };

  const wss = new WebSocketServer({
    noServer: true,
    // Only MQTT's own subprotocol names are agreed to, never whatever a client offers.
    handleProtocols: (offered) => WEBSOCKET_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    perMessageDeflate: false,
    maxPayload: Math.max(limits.maxPacketBytes * 4, 1024 * 1024),
  });
  const onRequest: RequestListener = (req, res) => {
    setSecurityHeaders(res); // every answer, refusals and errors included (CSP, no framing, nosniff)
    if (!hostChecked(req, () => res.writeHead(403, { 'content-type': 'text/plain' }).end('this broker does not serve that host name\n'))) return;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const status = aedes.closed ? 'closing' : redis && !redis.healthy() ? 'redis-down' : 'ok';
      res.writeHead(status === 'ok' ? 200 : 503, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ status, id: aedes.id, clients: aedes.connectedClients }) + '\n');
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
  // Slow or idle HTTP connections are closed (slowloris); Node checks these timeouts every connectionsCheckingInterval.
  const httpOptions = {
    headersTimeout: limits.httpHeadersTimeoutMs,
    requestTimeout: limits.httpRequestTimeoutMs,
    keepAliveTimeout: limits.httpKeepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, limits.httpHeadersTimeoutMs),
  };
  const httpServer: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, ...httpOptions }, onRequest) : createHttpServer(httpOptions, onRequest);
  httpServer.keepAliveTimeout = limits.httpKeepAliveTimeoutMs;
  // Every HTTP connection (page, /metrics, WebSocket) counts against the same caps as MQTT ones.
  httpServer.on('connection', (socket: Socket) => void admit(socket));
  httpServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', destroyOnError);
    if (!hostChecked(req, () => socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n'))) return;
    if ((req.url ?? '').split('?')[0] !== WEBSOCKET_PATH) return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, options.allowedOrigins ?? null)) {
      metrics.connectionsRefused += 1;
      refusals.warn({ event: 'origin_refused', origin, remote: socket.remoteAddress }, `Refused a WebSocket from origin ${printable(origin)}`);
      return void socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
    }
    // No closure here refers to req: the socket's listeners would keep it (and its headers) for the connection's life.
    const summary = upgradeSummary(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      metrics.trackSocket(socket);
      socket.setNoDelay(true);
      handle((onCutOff) => ClientConnection.fromWebSocket(ws, socket.remoteAddress, outbound, onCutOff), summary);
    });
  });

  // With TLS on, plain MQTT stays on loopback only: passwords never cross a network in the clear.
  const plainHost = tls ? '127.0.0.1' : host;
  try {
    await listen(tcpServer, plainHost, options.mqttPort, 'mqtt-port');
    if (tlsServer && tls) await listen(tlsServer, host, tls.port, 'mqtts-port');
    await listen(httpServer, host, options.httpPort, 'http-port');
  } catch (error) {
    tcpServer.close();
    tlsServer?.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  }

  const mqttPort = (tcpServer.address() as AddressInfo).port;
  const mqttsPort = tlsServer ? (tlsServer.address() as AddressInfo).port : null;
  const httpPort = (httpServer.address() as AddressInfo).port;
  const urlHost = (h: string) => (h.includes(':') ? `[${h}]` : h);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      tcpServer.close();
      tlsServer?.close();
      httpServer.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const ws of wss.clients) ws.terminate();
      httpServer.closeAllConnections();
      wss.close();
      await redis?.close();
    })());

  return {
    id: aedes.id,
    aedes,
    metrics,
    mqttPort,
    httpPort,
    mqttsPort,
    mqttUrl: `mqtt://${urlHost(plainHost)}:${mqttPort}`,
    mqttsUrl: mqttsPort ? `mqtts://${urlHost(host)}:${mqttsPort}` : null,
    wsUrl: `${tls ? 'wss' : 'ws'}://${urlHost(host)}:${httpPort}${WEBSOCKET_PATH}`,
    httpUrl: `${tls ? 'https' : 'http'}://${urlHost(host)}:${httpPort}/`,
    httpTimeouts: { headersTimeout: httpServer.headersTimeout, requestTimeout: httpServer.requestTimeout, keepAliveTimeout: httpServer.keepAliveTimeout },
    close,
  };
}

function destroyOnError(this: Socket): void {
  this.destroy();
}

/**
 * What a WebSocket client keeps of its upgrade request for its whole life: the remote address (client-info.ts
 * reads it there, and a request at all marks a WebSocket client). The IncomingMessage itself, with its headers
 * and raw headers, would cost every idle viewer about a kilobyte more; nothing reads them after the upgrade.
 */
function upgradeSummary(req: IncomingMessage): IncomingMessage {
  return { socket: { remoteAddress: req.socket.remoteAddress } } as IncomingMessage;
}

function listen(server: TcpServer | HttpServer, host: string, port: number, flag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') reject(new PortInUseError(host, port, flag));
      else if (error.code === 'EACCES') reject(new Error(`no permission to listen on ${host}:${port}: choose a port above 1023 with --${flag}`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new Error(`cannot listen on ${host}: this machine has no such address (--host)`));
      else reject(error);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

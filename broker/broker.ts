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
import { ClientConnection, DEFAULT_CONNECTION_LIMITS, type CutOffHandler, type ConnectionLimits } from './client-connection';
import type { Logger } from './log';
import { LogLimiter } from './log';
import { BrokerMetrics } from './metrics';
import { ConnectionCounter, DEFAULT_LIMITS, type Limits } from './security/limits';
import { originAllowed } from './security/origins';
import { Rights, type AclRule } from './security/rights';
import type { UsersFile } from './security/users';
import type { RedisBackend } from './redis';
import { serveStatic } from './static-files';

export const DEFAULT_VIEWER_DIR = fileURLToPath(new URL('../viewer/dist', import.meta.url));
export const WEBSOCKET_PATH = '/mqtt';

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
  const users = options.users ?? null;
  const rights = new Rights(options.acl ?? [], users === null);
  const redis = options.redis ?? null;
  const aedes = await createAedesBroker(
    log,
    metrics,
    { users, allowAnonymous: options.allowAnonymous ?? false, rights, limits },
    { id: options.id, mq: redis?.mq, persistence: redis?.persistence },
  );
  redis?.watch(aedes);
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
      refusals.warn({ remote: address }, `Refused a connection: ${refused}`);
      socket.destroy();
      return false;
    }
    socket.once('close', () => counter.release(address));
    return true;
  };

  /** Hands a connection to Aedes; a client that stops reading or sends too much is cut off (see ClientConnection). */
  const handle = (make: (onCutOff: CutOffHandler) => ClientConnection, req?: IncomingMessage) => {
    let clientId = '(before CONNECT)';
    const conn = make((reason, kind) => {
      if (kind === 'slow') metrics.slowClientsCutOff += 1;
      else metrics.oversizePackets += 1;
      log.warn({ clientId, remote: conn.remoteAddress, reason }, `Cut off ${kind === 'slow' ? 'slow ' : ''}client ${clientId}: ${reason}`);
    });
    const client = aedes.handle(conn, req);
    installQoS0Delivery(client, conn);
    client.once('connected', () => (clientId = client.id));
  };

  const onMqttSocket = (socket: Socket) => {
    if (!admit(socket)) return;
    metrics.trackSocket(socket);
    socket.setNoDelay(true); // writes are already batched per event-loop turn
    handle((onCutOff) => ClientConnection.fromSocket(socket, outbound, onCutOff));
  };
  const tcpServer = createTcpServer(onMqttSocket);
  const tlsServer = tls ? createTlsServer({ cert: tls.cert, key: tls.key }, onMqttSocket) : null;

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: Math.max(limits.maxPacketBytes * 4, 1024 * 1024) });
  const onRequest: RequestListener = (req, res) => {
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
  const httpServer: HttpServer = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, onRequest) : createHttpServer(onRequest);
  httpServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if ((req.url ?? '').split('?')[0] !== WEBSOCKET_PATH) return void socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, options.allowedOrigins ?? null)) {
      metrics.connectionsRefused += 1;
      refusals.warn({ origin, remote: socket.remoteAddress }, `Refused a WebSocket from origin ${origin}`);
      return void socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\n\r\n');
    }
    if (!admit(socket)) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      metrics.trackSocket(socket);
      socket.setNoDelay(true);
      handle((onCutOff) => ClientConnection.fromWebSocket(ws, socket.remoteAddress, outbound, onCutOff), req);
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
    close,
  };
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

import type { Aedes } from 'aedes';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { createAedes } from './aedes-hooks';
import { ClientConnection, DEFAULT_OUTBOUND_LIMITS, type OutboundLimits } from './client-connection';
import type { Logger } from './log';
import { BrokerMetrics } from './metrics';
import { serveStatic } from './static-files';

export const DEFAULT_VIEWER_DIR = fileURLToPath(new URL('../viewer/dist', import.meta.url));
export const WEBSOCKET_PATH = '/mqtt';

export interface BrokerOptions {
  host: string;
  mqttPort: number;
  httpPort: number;
  viewerDir?: string;
  log: Logger;
  outbound?: OutboundLimits;
}

export interface RunningBroker {
  aedes: Aedes;
  metrics: BrokerMetrics;
  mqttPort: number;
  httpPort: number;
  mqttUrl: string;
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

/** Starts Aedes with a TCP listener and an HTTP listener (viewer, /mqtt, /healthz, /metrics). */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { host, log } = options;
  const viewerDir = options.viewerDir ?? DEFAULT_VIEWER_DIR;
  const metrics = new BrokerMetrics();
  const aedes = await createAedes(log, metrics);

  const outbound = options.outbound ?? DEFAULT_OUTBOUND_LIMITS;

  /** Hands a connection to Aedes; a client that stops reading is cut off (see ClientConnection). */
  const handle = (make: (onCutOff: (reason: string) => void) => ClientConnection, req?: IncomingMessage) => {
    let clientId = '(before CONNECT)';
    const conn = make((reason) => {
      metrics.slowClientsCutOff += 1;
      log.warn({ clientId, remote: conn.remoteAddress, reason }, `Cut off slow client ${clientId}: ${reason}`);
    });
    const client = aedes.handle(conn, req);
    client.once('connected', () => (clientId = client.id));
  };

  const tcpServer = createTcpServer((socket) => {
    metrics.trackSocket(socket);
    socket.setNoDelay(true); // writes are already batched per event-loop turn
    handle((onCutOff) => ClientConnection.fromSocket(socket, outbound, onCutOff));
  });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const httpServer = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      const healthy = !aedes.closed;
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ status: healthy ? 'ok' : 'closing', clients: aedes.connectedClients }) + '\n');
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
  });
  httpServer.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== WEBSOCKET_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      metrics.trackSocket(req.socket);
      req.socket.setNoDelay(true);
      handle((onCutOff) => ClientConnection.fromWebSocket(ws, req.socket.remoteAddress, outbound, onCutOff), req);
    });
  });

  try {
    await listen(tcpServer, host, options.mqttPort, 'mqtt-port');
    await listen(httpServer, host, options.httpPort, 'http-port');
  } catch (error) {
    tcpServer.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  }

  const mqttPort = (tcpServer.address() as AddressInfo).port;
  const httpPort = (httpServer.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      tcpServer.close();
      httpServer.close();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      for (const ws of wss.clients) ws.terminate();
      httpServer.closeAllConnections();
      wss.close();
    })());

  return {
    aedes,
    metrics,
    mqttPort,
    httpPort,
    mqttUrl: `mqtt://${urlHost}:${mqttPort}`,
    wsUrl: `ws://${urlHost}:${httpPort}${WEBSOCKET_PATH}`,
    httpUrl: `http://${urlHost}:${httpPort}/`,
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

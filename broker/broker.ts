import type { Aedes } from 'aedes';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo, Server as TcpServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createAedesBroker } from './aedes-broker';
import { openDurableStore } from './store/store';
import { checkClientInternals } from './client-internals';
import { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits } from './client-connection';
import { checkPinnedVersions, requireInternal } from './library-internals';
import { Connections } from './listeners/connections';
import { HostCheck, httpListener, httpRoutes } from './listeners/http';
import { mqttServer } from './listeners/mqtt';
import { acceptWebSockets, WEBSOCKET_PATH } from './listeners/websocket';
import type { Logger } from './log';
import { BrokerMetrics } from './metrics';
import { checkingParserAvailable, usePlainPacketNumbers } from './packet-memory';
import type { RedisBackend } from './redis';
import { DEFAULT_LIMITS, type Limits } from './security/limits';
import { Rights, type AclRule } from './security/rights';
import type { UsersFile } from './security/users';

export const DEFAULT_VIEWER_DIR = fileURLToPath(new URL('../viewer/dist', import.meta.url));
export { WEBSOCKET_PATH };

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
  /** Folder of the durable store (store/); null or absent: nothing kept on disk. Not used with `redis`. */
  dataDir?: string | null;
  /** Told when the durable store can no longer write (a full disk): default, logged. */
  onStoreFailure?: (error: Error) => void;
}

export interface RunningBroker {
  id: string;
  aedes: Aedes;
  metrics: BrokerMetrics;
  mqttPort: number;
  httpPort: number;
  mqttsPort: number | null;
  /** Where the durable store keeps its data; null: nothing kept on disk. */
  dataDir: string | null;
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
  const onStoreFailure = options.onStoreFailure ?? ((error: Error) => log.error({ event: 'store_failed', err: error.message }, error.message));
  const store = !redis && options.dataDir ? await openDurableStore(options.dataDir, onStoreFailure) : null;
  const aedes = await createAedesBroker(
    log,
    metrics,
    { users, allowAnonymous: options.allowAnonymous ?? false, rights, limits },
    { id: options.id, mq: redis?.mq, persistence: redis?.persistence, cluster: redis?.cluster, store: store?.persistence },
  ).catch(async (error: unknown) => {
    await store?.close();
    throw error;
  });
  checkClientInternals(aedes);
  redis?.watch(aedes);
  metrics.instanceId = aedes.id;
  const tls = options.tls ?? null;

  // One builder a listener (listeners/): MQTT over TCP and TLS, HTTP (the viewer, /healthz, /metrics), WebSocket at /mqtt.
  const outbound: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...options.outbound, maxPacketBytes: limits.maxPacketBytes };
  const connections = new Connections(aedes, metrics, log, limits, outbound);
  const tcpServer = mqttServer(connections, metrics);
  const tlsServer = tls ? mqttServer(connections, metrics, tls) : null;
  const hostCheck = new HostCheck(host, options.allowedHosts ?? [], connections, metrics);
  const httpServer = httpListener(httpRoutes({ aedes, redis, metrics, log, viewerDir, hostCheck }), connections, limits, tls);
  const wss = acceptWebSockets(httpServer, { connections, hostCheck, metrics, limits, allowedOrigins: options.allowedOrigins ?? null });

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
    await store?.close();
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
      await store?.close();
    })());

  return {
    id: aedes.id,
    aedes,
    metrics,
    mqttPort,
    httpPort,
    mqttsPort,
    dataDir: store?.dir ?? null,
    mqttUrl: `mqtt://${urlHost(plainHost)}:${mqttPort}`,
    mqttsUrl: mqttsPort ? `mqtts://${urlHost(host)}:${mqttsPort}` : null,
    wsUrl: `${tls ? 'wss' : 'ws'}://${urlHost(host)}:${httpPort}${WEBSOCKET_PATH}`,
    httpUrl: `${tls ? 'https' : 'http'}://${urlHost(host)}:${httpPort}/`,
    httpTimeouts: { headersTimeout: httpServer.headersTimeout, requestTimeout: httpServer.requestTimeout, keepAliveTimeout: httpServer.keepAliveTimeout },
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

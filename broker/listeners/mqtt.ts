import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { ClientConnection } from '../client-connection';
import type { BrokerMetrics } from '../metrics';
import type { Connections } from './connections';

/** MQTT over TCP, or over TLS when given a certificate and key. */
export function mqttServer(connections: Connections, metrics: BrokerMetrics, tls: { cert: Buffer; key: Buffer } | null = null): TcpServer {
  const onSocket = (socket: Socket) => {
    if (!connections.admit(socket)) return;
    metrics.trackSocket(socket);
    socket.setNoDelay(true); // writes are already batched per event-loop turn
    connections.handle((onCutOff) => ClientConnection.fromSocket(socket, connections.outbound, onCutOff));
  };
  return tls ? createTlsServer({ cert: tls.cert, key: tls.key }, onSocket) : createTcpServer(onSocket);
}

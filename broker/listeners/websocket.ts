import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { ClientConnection } from '../client-connection';
import { rawRefusal } from '../http-headers';
import { printable } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { Limits } from '../security/limits';
import { originAllowed } from '../security/origins';
import type { Connections } from './connections';
import type { HostCheck } from './http';

export const WEBSOCKET_PATH = '/mqtt';
/** MQTT over WebSocket subprotocols, in order of preference: MQTT 3.1.1 (`mqtt`), then MQTT 3.1. */
const WEBSOCKET_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

/**
 * MQTT over WebSocket at /mqtt on the HTTP server: the upgrade must name this broker (Host) and, from a browser, come
 * from an allowed origin; anything else is refused before the WebSocket opens.
 */
export function acceptWebSockets(
  server: HttpServer,
  parts: { connections: Connections; hostCheck: HostCheck; metrics: BrokerMetrics; limits: Limits; allowedOrigins: string[] | null },
): WebSocketServer {
  const { connections, hostCheck, metrics, limits, allowedOrigins } = parts;
  const wss = new WebSocketServer({
    noServer: true,
    // Only MQTT's own subprotocol names are agreed to, never whatever a client offers.
    handleProtocols: (offered) => WEBSOCKET_SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
    perMessageDeflate: false,
    maxPayload: Math.max(limits.maxPacketBytes * 4, 1024 * 1024),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', destroyOnError);
    if (!hostCheck.passes(req, () => socket.end(rawRefusal(403)))) return;
    if ((req.url ?? '').split('?')[0] !== WEBSOCKET_PATH) return void socket.end(rawRefusal(404));
    const origin = req.headers.origin;
    if (origin !== undefined && !originAllowed(origin, req.headers.host, allowedOrigins)) {
      metrics.connectionsRefused += 1;
      connections.refusals.warn({ event: 'origin_refused', origin, remote: socket.remoteAddress }, `Refused a WebSocket from origin ${printable(origin)}`);
      return void socket.end(rawRefusal(403));
    }
    // No closure here refers to req: the socket's listeners would keep it (and its headers) for the connection's life.
    const summary = upgradeSummary(req);
    wss.handleUpgrade(req, socket, head, (ws) => {
      metrics.trackSocket(socket);
      socket.setNoDelay(true);
      connections.handle((onCutOff) => ClientConnection.fromWebSocket(ws, socket.remoteAddress, connections.outbound, onCutOff), summary);
    });
  });
  return wss;
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

import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { createWebSocketStream, WebSocketServer } from 'ws';
// Aedes 1.2.0, installed beside mqlive's own Aedes under another name: a real broker that speaks MQTT 3.1.1 and 3.1
// only and refuses MQTT 5 (CONNACK 0x01), as many brokers still in use do.
import { Aedes } from 'aedes-1';

export interface Mqtt311Broker {
  url: string;
  /** MQTT over WebSocket (ws://127.0.0.1:port/mqtt), when started with `{ webSocket: true }`. */
  wsUrl?: string;
  /** Client ids of the connections it accepted, and how many CONNECTs it refused, so far. */
  accepted: string[];
  refused: () => number;
  close: () => Promise<void>;
}

/** A plain MQTT 3.1.1-only broker on 127.0.0.1 (TCP, and WebSocket if asked), for the clients' fallback from MQTT 5. */
export async function startMqtt311Broker(options: { webSocket?: boolean } = {}): Promise<Mqtt311Broker> {
  const aedes = await Aedes.createBroker();
  const accepted: string[] = [];
  let refused = 0;
  aedes.on('client', (client) => accepted.push(client.id));
  aedes.on('connectionError', () => (refused += 1));
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  // The viewer's way in: MQTT over WebSocket, each WebSocket handed to Aedes as a stream (as broker/listeners does).
  const http = options.webSocket ? createHttpServer() : undefined;
  if (http) {
    const wss = new WebSocketServer({ server: http, path: '/mqtt' });
    wss.on('connection', (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => stream.destroy());
      aedes.handle(stream as unknown as Socket);
    });
    http.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
  }
  return {
    url: `mqtt://127.0.0.1:${port}`,
    ...(http && { wsUrl: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/mqtt` }),
    accepted,
    refused: () => refused,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (http) await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

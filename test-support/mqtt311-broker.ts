import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
// Aedes 1.2.0, installed beside mqlive's own Aedes under another name: a real broker that speaks MQTT 3.1.1 and 3.1
// only and refuses MQTT 5 (CONNACK 0x01), as many brokers still in use do.
import { Aedes } from 'aedes-1';

export interface Mqtt311Broker {
  url: string;
  /** Client ids of the connections it accepted, and how many CONNECTs it refused, so far. */
  accepted: string[];
  refused: () => number;
  close: () => Promise<void>;
}

/** A plain MQTT 3.1.1-only broker on 127.0.0.1 (TCP), for the clients' fallback from MQTT 5. */
export async function startMqtt311Broker(): Promise<Mqtt311Broker> {
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
  return {
    url: `mqtt://127.0.0.1:${port}`,
    accepted,
    refused: () => refused,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

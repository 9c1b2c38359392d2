import type { Aedes, Client } from 'aedes';
import type { TransportName } from './metrics';

/** Which listener a client came in on: WebSocket clients carry the upgrade request. */
export function transportOf(client: Client): TransportName {
  return client.req ? 'ws' : 'tcp';
}

export function remoteAddressOf(client: Client): string | undefined {
  const socket = client.req?.socket ?? (client.conn as { remoteAddress?: string });
  return socket.remoteAddress;
}

/** The connection that holds a client id on this broker now (Aedes's client table), if any. */
export function clientHolding(aedes: Aedes, clientId: string): Client | undefined {
  return (aedes as unknown as { clients: Record<string, Client | undefined> }).clients[clientId];
}

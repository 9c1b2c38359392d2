import type { Aedes } from 'aedes';
import { PassThrough } from 'node:stream';
import { WebSocket } from 'ws';
import { requireInternal } from './library-internals';
import { leanParserFits } from './packet-memory';

/**
 * The internals the per-connection patches use, checked once at start on a client that never connects, so a
 * changed library stops the broker at start rather than at its first connection: Aedes's deliver0 and duplicate
 * table (qos0-delivery.ts, duplicate-deliveries.ts), its client's subscription table (retained-qos.ts,
 * refusal-notice.ts), mqtt-packet's parser buffer (packet-memory.ts), and how ws keeps a connection's socket
 * (client-connection.ts).
 */
export function checkClientInternals(aedes: Aedes): void {
  const stream = new PassThrough();
  const client = aedes.handle(stream) as unknown as { deliver0?: unknown; duplicates?: unknown; subscriptions?: unknown };
  try {
    requireInternal(typeof client.deliver0 === 'function' && typeof client.duplicates === 'object', 'aedes', 'Client#deliver0 and Client#duplicates');
    requireInternal(typeof client.subscriptions === 'object' && client.subscriptions !== null, 'aedes', 'Client#subscriptions');
    requireInternal(leanParserFits(client), 'mqtt-packet', "Parser#_list (each client's parser buffer)");
    requireInternal(typeof (WebSocket.prototype as unknown as { setSocket?: unknown }).setSocket === 'function', 'ws', 'WebSocket#setSocket (which keeps the socket as _socket)');
  } finally {
    stream.destroy();
  }
}

import type { Client } from 'aedes';
import { requireInternal } from './library-internals';

/**
 * Which delivery to a client is the same message again.
 *
 * Aedes numbers each message as its publish starts (`brokerCounter`, per broker id) and, for each client, dropped
 * any message numbered at or below the highest one it had delivered to that client (lib/client.js `dedupe`),
 * as if messages reached a subscriber in the order they were numbered. They do not: a retained message waits for
 * the retained store, a QoS 1 one for the offline queue, and a message numbered after it that waits for nothing
 * (QoS 0, not retained) is delivered first. The first was then taken for a duplicate and lost. A will is numbered,
 * waits for the retained store, and the broker's own `$SYS/{id}/disconnect/clients` for the same client is
 * numbered and delivered meanwhile: a subscriber to `$SYS/#` lost every will (issue 29; aedes #994).
 *
 * The duplicates Aedes means are one message matched by several subscriptions of one client: mqemitter hands it
 * to each of that client's matching listeners in one synchronous pass, with nothing else for that client in
 * between. So a delivery is a duplicate when it is the message last delivered to this client from that broker.
 * (Redis brings a message back once: mqemitter-redis drops its repeats, redis.ts this instance's own.)
 */

interface DedupeInternals {
  /** Per broker id, the number of the message last delivered to this client (Aedes's table, another meaning). */
  duplicates: Record<string, number>;
}

/** True, and remembered, unless this message is the one last delivered to this client from its broker. */
export function firstTime(c: DedupeInternals, packet: { brokerId?: string | null; brokerCounter?: number | string }): boolean {
  const id = packet.brokerId;
  if (!id) return true;
  const counter = Number(packet.brokerCounter ?? 0);
  if (c.duplicates[id] === counter) return false;
  c.duplicates[id] = counter;
  return true;
}

interface AedesQoSDelivery extends DedupeInternals {
  clean: boolean;
  deliverQoS: (packet: Delivered, callback: () => void) => void;
  deliver0: (packet: Delivered, callback: () => void) => void;
  broker: { persistence: { outgoingClearMessageId(client: Client, packet: Delivered): Promise<unknown> } };
}

interface Delivered {
  qos: number;
  brokerId?: string | null;
  brokerCounter?: number | string;
}

/**
 * Puts `firstTime` in front of Aedes's own QoS 1 and 2 delivery (MQTT 3.1.1 clients; an MQTT 5 client's is
 * receive-maximum.ts, which uses `firstTime` itself). Aedes's own check still runs after it, and lets through what
 * `firstTime` let through: it is shown a number below this one. Call it as the client is made, before it
 * subscribes (Aedes takes the function at each subscription).
 */
export function useSameMessageDedupe(client: Client): void {
  const c = client as unknown as AedesQoSDelivery;
  requireInternal(
    typeof c.deliverQoS === 'function' && typeof c.duplicates === 'object' && typeof c.broker?.persistence?.outgoingClearMessageId === 'function',
    'aedes',
    'Client#deliverQoS, Client#duplicates and persistence#outgoingClearMessageId',
  );
  const aedesDeliverQoS = c.deliverQoS;
  c.deliverQoS = (packet, callback) => {
    // Sent at QoS 0 (the publish's own QoS): the QoS 0 path, with its own check, as Aedes does.
    if (packet.qos === 0) return c.deliver0(packet, callback);
    if (!firstTime(c, packet)) {
      // As Aedes: a persistent session queued it before delivery; not sent, it is cleared.
      if (!c.clean) c.broker.persistence.outgoingClearMessageId(client, packet).catch(() => undefined);
      setImmediate(callback);
      return;
    }
    if (packet.brokerId) c.duplicates[packet.brokerId] = Number(packet.brokerCounter ?? 0) - 1;
    aedesDeliverQoS(packet, callback);
  };
}

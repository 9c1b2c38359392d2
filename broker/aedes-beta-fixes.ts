import type { Aedes, Client } from 'aedes';
import { requireInternal } from './library-internals';

/**
 * What Aedes 1.2.0 fixed that its MQTT 5 line (2.0.0-beta.1, cut before 1.2.0) lacks, put back from mqlive's side.
 * Aedes's inbound QoS 2 window (1.2.0's maxInflightInbound) is caps/awaiting-pubrel.ts; 1.2.0's cleanIncoming is
 * called only where a persistence has one, and neither persistence mqlive uses has.
 */

/** Tables keyed by ids and topic filters from the wire read back an inherited name ('constructor', '__proto__') as absent (GHSA-52qw-whmv-87c5). */
export function useNullPrototypeBrokerTables(aedes: Aedes): void {
  const tables = aedes as unknown as { clients?: object; brokers?: object };
  requireInternal(typeof tables.clients === 'object' && typeof tables.brokers === 'object', 'aedes', 'Aedes#clients and Aedes#brokers');
  Object.setPrototypeOf(tables.clients, null);
  Object.setPrototypeOf(tables.brokers, null);
}

/** The same for one client's subscriptions and duplicate counters: call it as the client is made, before its CONNECT is read. */
export function useNullPrototypeClientTables(client: Client): void {
  const tables = client as unknown as { subscriptions?: object; duplicates?: object };
  requireInternal(typeof tables.subscriptions === 'object' && typeof tables.duplicates === 'object', 'aedes', 'Client#subscriptions and Client#duplicates');
  Object.setPrototypeOf(tables.subscriptions, null);
  Object.setPrototypeOf(tables.duplicates, null);
}

interface IncomingStore {
  incomingDelPacket: (client: unknown, packet: unknown) => Promise<unknown>;
}

/**
 * Two PUBRELs for one message in one write: the second delete loses the race and rejects, and the beta's
 * `.finally()` lets that rejection escape, which ends the process. The PUBCOMP is owed either way (MQTT-4.3.3-11),
 * so a failed delete of a packet already gone is not an error. Call it with the broker's persistence.
 */
export function tolerateDuplicatePubrel(aedes: Aedes): void {
  const store = (aedes as unknown as { persistence?: IncomingStore }).persistence;
  requireInternal(typeof store?.incomingDelPacket === 'function', 'aedes', 'persistence#incomingDelPacket');
  if (!store) return;
  const incomingDelPacket = store.incomingDelPacket.bind(store);
  store.incomingDelPacket = (client, packet) => incomingDelPacket(client, packet).catch(() => undefined);
}

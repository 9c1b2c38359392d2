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

interface OutgoingStore {
  outgoingUpdate: (client: unknown, packet: object) => Promise<unknown>;
  outgoingClearMessageId: (client: unknown, packet: { messageId?: number; brokerId?: string; brokerCounter?: number }) => Promise<unknown>;
}

/** Never a wire packet identifier (1 to 65535): the mark a skipped delivery gets so that it alone is cleared. */
const SKIPPED = -1;

/**
 * A delivery to a persistent session that is not sent (no local, mqlive's rights at delivery, too large for the
 * client) is queued first, before it has a message id; Aedes then clears it by message id, undefined, which
 * removes whichever other queued message has none yet: that one's next update fails ("no such packet") and the
 * client is disconnected (Aedes 1.2 and the beta alike). Here such a delivery is found by what does name it, its
 * broker id and counter, marked, and cleared alone.
 */
export function clearSkippedDeliveriesAlone(aedes: Aedes): void {
  const store = (aedes as unknown as { persistence?: OutgoingStore }).persistence;
  requireInternal(typeof store?.outgoingUpdate === 'function' && typeof store.outgoingClearMessageId === 'function', 'aedes', 'persistence#outgoingUpdate and #outgoingClearMessageId');
  if (!store) return;
  const clear = store.outgoingClearMessageId.bind(store);
  const update = store.outgoingUpdate.bind(store);
  store.outgoingClearMessageId = async (client, packet) => {
    if (packet.messageId !== undefined || packet.brokerId === undefined) return clear(client, packet);
    await update(client, { ...packet, messageId: SKIPPED });
    return clear(client, { messageId: SKIPPED });
  };
}

interface ResumingClient {
  version?: number | null;
  clean: boolean;
  connecting?: boolean;
  _cleanStart?: boolean;
}

/**
 * An MQTT 5 client that resumes its session (Clean Start 0) but asks for no Session Expiry this time gets the
 * messages queued for it: the session ends with this connection, not before it (MQTT 5 §3.1.2.4, §3.1.2.11.2).
 * The beta marks such a client clean at CONNECT and drops its queue unsent. Here it counts as not clean while its
 * queue is sent (Aedes reads the queue, the last step of a CONNECT, through outgoingStream) and clean again once
 * the CONNECT is done.
 */
export function resumeSessionsEndingWithTheirConnection(aedes: Aedes): void {
  const store = (aedes as unknown as { persistence?: { outgoingStream?: (client: unknown) => unknown } }).persistence;
  requireInternal(typeof store?.outgoingStream === 'function', 'aedes', 'persistence#outgoingStream');
  if (!store?.outgoingStream) return;
  const outgoingStream = store.outgoingStream.bind(store);
  const resuming = new WeakSet<object>();
  store.outgoingStream = (client) => {
    const c = client as ResumingClient;
    if (c.version === 5 && c.connecting && c.clean && c._cleanStart === false) {
      c.clean = false;
      resuming.add(c);
    }
    return outgoingStream(client);
  };
  aedes.on('clientReady', (client) => {
    if (resuming.delete(client)) (client as unknown as ResumingClient).clean = true;
  });
}

interface TimerInternals {
  id: string;
  mq: { on(topic: string, listener: (packet: { topic: string; payload: Buffer }, done: () => void) => void): unknown };
  clearSessionExpiry(clientId: string): void;
  clearDelayedWill(clientId: string): void;
}

/**
 * With `--redis`: an MQTT 5 client that left this instance with a will delay or a session expiry, and came back
 * on another instance before either ran out, is not wiped nor its will published here. The beta clears those
 * timers only on the instance the client comes back to; every instance hears of a connect through
 * `$SYS/{id}/new/clients`.
 */
export function clearTimersOfClientsBackElsewhere(aedes: Aedes): void {
  const internals = aedes as unknown as TimerInternals;
  requireInternal(typeof internals.clearSessionExpiry === 'function' && typeof internals.clearDelayedWill === 'function' && typeof internals.mq?.on === 'function', 'aedes', 'Aedes#clearSessionExpiry, #clearDelayedWill and #mq');
  internals.mq.on('$SYS/+/new/clients', (packet, done) => {
    if (packet.topic.split('/')[1] !== internals.id) {
      const id = packet.payload.toString();
      internals.clearSessionExpiry(id);
      internals.clearDelayedWill(id);
    }
    done();
  });
}

import type { Client } from 'aedes';
import type { ClientConnection } from './client-connection';
import { encodePublish } from './publish-encoding';

/**
 * QoS 0 deliveries, encoded once per message instead of once per subscriber.
 *
 * Aedes (1.2, lib/client.js `deliver0`) handles every QoS 0 delivery to every subscriber alone: a setImmediate,
 * a new packet object, mqtt-packet's writeToStream (five stream writes, cork and uncork), and a second
 * setImmediate for the callback. Yet the bytes of a QoS 0 PUBLISH are the same for every subscriber that gets
 * it with the same retain and dup bits. Here each client's `deliver0` keeps Aedes's checks (no-local, the
 * per-broker duplicate counter, `authorizeForward`), then takes the encoded bytes from a one-message cache and
 * queues them on the connection: one buffer per subscriber, sent with whatever else that turn wrote.
 * QoS 1 and 2 deliveries carry a message id per subscriber, and MQTT 5 ones properties per subscriber: both stay
 * on Aedes's path.
 */

/** The parts of Aedes's Client this relies on (not in its public types); checked at install. */
interface AedesClientInternals {
  id: string;
  version: number | null;
  connected: boolean;
  connecting: boolean;
  duplicates: Record<string, number>;
  deliver0: (packet: DeliveredPacket, callback: () => void) => void;
  broker: { authorizeForward: (client: Client, packet: DeliveredPacket) => DeliveredPacket | null | undefined };
}

interface DeliveredPacket {
  topic: string;
  payload?: Buffer | string;
  retain?: boolean;
  dup?: boolean;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  nl?: boolean;
}

/** Replaces the client's QoS 0 delivery with the encode-once one; false (Aedes's own path kept) if Aedes's internals are not as expected. Call it before the client subscribes. */
export function installQoS0Delivery(client: Client, conn: ClientConnection): boolean {
  const c = client as unknown as AedesClientInternals;
  if (typeof c.deliver0 !== 'function' || typeof c.duplicates !== 'object' || typeof c.broker?.authorizeForward !== 'function') return false;
  const aedesDeliver0 = c.deliver0;
  c.deliver0 = (packet, callback) => {
    // An MQTT 5 PUBLISH carries properties per subscriber (subscription identifiers, message expiry left): Aedes's path.
    if (c.version === 5) return aedesDeliver0(packet, callback);
    // MQTT 5 no-local, as Aedes checks it.
    if (packet.clientId === c.id && packet.nl) return later(callback);
    if (!firstTime(c, packet)) return later(callback);
    const toForward = c.broker.authorizeForward(client, packet);
    if (!toForward) return later(callback);
    // A client already closing gets nothing, as with Aedes (its write fails with "connection closed").
    if (!c.connected && !c.connecting) return later(callback);
    const bytes = encodedQoS0(toForward);
    // Over MQTT's 256 MiB or a 64 KiB topic (the broker's packet limit refuses such input long before): Aedes ends the client too.
    if (bytes) conn.writePacket(bytes);
    else conn.destroy(new Error('a PUBLISH too large to encode'));
    later(callback);
  };
  return true;
}

/** Aedes's `dedupe`: a message seen again through another path (same broker id, same counter or older) is not delivered twice. */
export function firstTime(c: Pick<AedesClientInternals, 'duplicates'>, packet: Pick<DeliveredPacket, 'brokerId' | 'brokerCounter'>): boolean {
  const id = packet.brokerId;
  if (!id) return true;
  const counter = packet.brokerCounter ?? 0;
  if ((c.duplicates[id] ?? 0) >= counter) return false;
  c.duplicates[id] = counter;
  return true;
}

/** The last message encoded: its deliveries to every subscriber follow one another in one turn. */
let cached: { topic: string; payload: Buffer | string; retain: boolean; dup: boolean; bytes: Buffer } | undefined;

function encodedQoS0(packet: DeliveredPacket): Buffer | undefined {
  const topic = packet.topic;
  const payload = packet.payload ?? EMPTY;
  const retain = packet.retain === true;
  const dup = packet.dup === true;
  if (typeof topic !== 'string') return undefined;
  // Same payload object (or equal string), same topic and flags: the same bytes. Payloads are never changed in place.
  if (cached && cached.payload === payload && cached.topic === topic && cached.retain === retain && cached.dup === dup) return cached.bytes;
  const bytes = encodePublish({ topic, payload, qos: 0, retain, dup });
  if (bytes) cached = { topic, payload, retain, dup, bytes };
  return bytes;
}

const EMPTY = Buffer.alloc(0);

/**
 * Delivery callbacks run in a later turn, as Aedes runs them, so a long queue of messages never recurses
 * through the stack; but one setImmediate per turn for all of them, not one per delivery.
 */
let deferred: (() => void)[] = [];
export function later(callback: () => void): void {
  deferred.push(callback);
  if (deferred.length === 1) setImmediate(runDeferred);
}
function runDeferred(): void {
  const now = deferred;
  deferred = [];
  for (const callback of now) callback();
}

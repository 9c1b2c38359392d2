import type { Client } from 'aedes';
import type { ClientConnection } from './client-connection';
import mqttPacket from 'mqtt-packet';
import { firstTime } from './duplicate-deliveries';
import { encodePublish } from './publish-encoding';

/**
 * QoS 0 deliveries, encoded once per message instead of once per subscriber.
 *
 * Aedes (1.2, lib/client.js `deliver0`) handles every QoS 0 delivery to every subscriber alone: a setImmediate,
 * a new packet object, mqtt-packet's writeToStream (five stream writes, cork and uncork), and a second
 * setImmediate for the callback. Yet the bytes of a QoS 0 PUBLISH are the same for every subscriber that gets
 * it with the same retain and dup bits. Here each client's `deliver0` keeps Aedes's checks (no-local, a
 * duplicate as duplicate-deliveries.ts tells it, `authorizeForward`), then takes the encoded bytes from a one-message cache and
 * queues them on the connection: one buffer per subscriber, sent with whatever else that turn wrote.
 * MQTT 5 clients get the same, encoded once per message with its properties (the contract's moves carry a content
 * type and an expiry). QoS 1 and 2 deliveries carry a message id per subscriber and stay on Aedes's path.
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
  properties?: Record<string, unknown>;
}

/** Replaces the client's QoS 0 delivery with the encode-once one; false (Aedes's own path kept) if Aedes's internals are not as expected. Call it before the client subscribes. */
export function installQoS0Delivery(client: Client, conn: ClientConnection): boolean {
  const c = client as unknown as AedesClientInternals;
  if (typeof c.deliver0 !== 'function' || typeof c.duplicates !== 'object' || typeof c.broker?.authorizeForward !== 'function') return false;
  c.deliver0 = (packet, callback) => {
    const v5 = c.version === 5;
    // MQTT 5 no-local, as Aedes checks it.
    if (packet.clientId === c.id && packet.nl) return later(callback);
    if (!firstTime(c, packet)) return later(callback);
    const toForward = c.broker.authorizeForward(client, packet);
    if (!toForward) return later(callback);
    // A client already closing gets nothing, as with Aedes (its write fails with "connection closed").
    if (!c.connected && !c.connecting) return later(callback);
    const bytes = encodedQoS0(toForward, v5 ? 5 : 4);
    // Over MQTT's 256 MiB or a 64 KiB topic (the broker's packet limit refuses such input long before): Aedes ends the client too.
    if (bytes) conn.writePacket(bytes);
    else conn.destroy(new Error('a PUBLISH too large to encode'));
    later(callback);
  };
  return true;
}

/** The properties to write, without names left undefined (a resolved topic alias), or undefined when none is left. */
function definedProperties(properties: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!properties) return undefined;
  let defined: Record<string, unknown> | undefined;
  for (const name in properties) {
    const value = properties[name];
    if (value !== undefined) (defined ??= {})[name] = value;
  }
  return defined;
}

interface Encoded {
  topic: string;
  payload: Buffer | string;
  retain: boolean;
  dup: boolean;
  properties: Record<string, unknown> | undefined;
  /** The one property that may change in place (Aedes counts a queued message's expiry down in it). */
  expiry: unknown;
  bytes: Buffer;
}

/** The last message encoded, per version: its deliveries to every subscriber follow one another in one turn. */
const cached: Record<4 | 5, Encoded | undefined> = { 4: undefined, 5: undefined };

function encodedQoS0(packet: DeliveredPacket, protocolVersion: 4 | 5): Buffer | undefined {
  const topic = packet.topic;
  const payload = packet.payload ?? EMPTY;
  const retain = packet.retain === true;
  const dup = packet.dup === true;
  // MQTT 3.1.1 has no properties; an MQTT 5 subscriber gets the message's (a subscription identifier is put in a
  // properties object of that subscriber's own, so it never matches another's cached bytes).
  const properties = protocolVersion === 5 ? packet.properties : undefined;
  const expiry = properties?.messageExpiryInterval;
  if (typeof topic !== 'string') return undefined;
  // Same payload object (or equal string), same topic, flags and properties: the same bytes. Payloads are never changed in place.
  const last = cached[protocolVersion];
  if (last && last.payload === payload && last.topic === topic && last.retain === retain && last.dup === dup && last.properties === properties && last.expiry === expiry) return last.bytes;
  const bytes = encodeQoS0(topic, payload, retain, dup, protocolVersion, definedProperties(properties));
  if (bytes) cached[protocolVersion] = { topic, payload, retain, dup, properties, expiry, bytes };
  return bytes;
}

function encodeQoS0(topic: string, payload: Buffer | string, retain: boolean, dup: boolean, protocolVersion: 4 | 5, properties: Record<string, unknown> | undefined): Buffer | undefined {
  if (!properties) return encodePublish({ topic, payload, qos: 0, retain, dup, protocolVersion });
  try {
    return mqttPacket.generate({ cmd: 'publish', topic, payload, qos: 0, retain, dup, properties } as mqttPacket.IPublishPacket, { protocolVersion: 5 });
  } catch {
    return undefined; // as for a packet too large: the client is ended, as Aedes ends it when a write fails
  }
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

/**
 * How the durable store lays out what it keeps: one key a record, its kind as the first character, then the
 * client id and what is unique within it, joined by NUL (which MQTT allows in neither a client id nor a topic,
 * MQTT-1.5.4-2). Values are V8-serialized plain objects (Buffers stay Buffers, MQTT 5 properties come back as
 * they were); every value read back is checked for its shape before the broker uses it.
 */
import { deserialize, serialize } from 'node:v8';

const SEP = '\0';

export const KIND = {
  retained: 'r',
  subscription: 's',
  outgoing: 'o',
  incoming: 'i',
  will: 'w',
  session: 'x',
} as const;

export const keys = {
  retained: (topic: string) => `${KIND.retained}${SEP}${topic}`,
  subscription: (clientId: string, topic: string) => `${KIND.subscription}${SEP}${clientId}${SEP}${topic}`,
  /** Queued and in-flight messages, in the order they were queued (the sequence number is 13 hex digits, zero-padded). */
  outgoing: (clientId: string, seq: number) => `${KIND.outgoing}${SEP}${clientId}${SEP}${seq.toString(16).padStart(13, '0')}`,
  incoming: (clientId: string, messageId: number) => `${KIND.incoming}${SEP}${clientId}${SEP}${messageId}`,
  will: (clientId: string) => `${KIND.will}${SEP}${clientId}`,
  session: (clientId: string) => `${KIND.session}${SEP}${clientId}`,
};

/** A key's parts after its kind: [clientId, rest] or [topic]. */
export function keyParts(key: string): string[] {
  return key.slice(2).split(SEP);
}

export const encode = (value: object): Buffer => serialize(value);

/** The fields of a packet the store keeps (a packet on its way also carries callbacks, which are not data). */
const PACKET_FIELDS = ['cmd', 'brokerId', 'brokerCounter', 'clientId', 'topic', 'payload', 'qos', 'retain', 'dup', 'messageId', 'properties', 'messageExpiry', 'nl'] as const;

/** `extra`: fields the store keeps beside the packet's own (a will's owner). */
export function encodePacket(packet: object, extra: Record<string, unknown> = {}): Buffer {
  const kept: Record<string, unknown> = { ...extra };
  for (const field of PACKET_FIELDS) {
    const value = (packet as Record<string, unknown>)[field];
    // A string payload (Aedes's publish() takes one) is kept as the UTF-8 bytes MQTT sends for it: read back, every payload is a Buffer.
    if (field === 'payload' && typeof value === 'string') kept[field] = Buffer.from(value);
    else if (value !== undefined) kept[field] = value;
  }
  return serialize(kept);
}

/** A value that did not read back as what the store wrote: the file holding it is damaged. */
export class DamagedRecordError extends Error {
  override name = 'DamagedRecordError';
}

export function decode(key: string, bytes: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = deserialize(bytes);
  } catch {
    throw new DamagedRecordError(`a record that cannot be read (${describeKey(key)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DamagedRecordError(`a record that is not an object (${describeKey(key)})`);
  return value as Record<string, unknown>;
}

/** A stored message: what Aedes keeps of a PUBLISH (or the PUBREL that replaced a QoS 2 one once it was received). */
export interface StoredPacket {
  cmd: 'publish' | 'pubrel';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  [field: string]: unknown;
}

export function checkPacket(key: string, value: Record<string, unknown>): StoredPacket {
  const { cmd, topic, payload, qos } = value;
  if (cmd === 'pubrel' && (value.messageId === undefined || Number.isInteger(value.messageId))) return value as unknown as StoredPacket;
  if (cmd !== 'publish' || typeof topic !== 'string' || !Buffer.isBuffer(payload) || (qos !== 0 && qos !== 1 && qos !== 2)) {
    throw new DamagedRecordError(`a message that is not a PUBLISH (${describeKey(key)})`);
  }
  return value as unknown as StoredPacket;
}

function describeKey(key: string): string {
  const kind = Object.entries(KIND).find(([, k]) => key.startsWith(k + SEP))?.[0] ?? 'unknown kind';
  return `${kind} ${JSON.stringify(keyParts(key).join(' '))}`;
}

/**
 * How the durable store lays out what it keeps: one key a record, its kind as the first character, then the
 * client id and what is unique within it, joined by NUL (which MQTT allows in neither a client id nor a topic,
 * MQTT-1.5.4-2). A value is a JSON header (its length first, 4 bytes) followed by a packet's payload bytes as they
 * are; a packet's correlation data (MQTT 5's one binary property) is base64 in the header. (V8's serializer took
 * twice as long to read back 10,000 retained messages at start.) Every value read back is checked for its shape
 * before the broker uses it.
 */

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

/** Before the JSON: its length (4 bytes), then what follows it (1 byte of FLAGS). */
const PREFIX_BYTES = 5;
const FLAGS = { payload: 1, base64CorrelationData: 2 } as const;

/** A record with no payload: its fields as JSON. */
export const encode = (value: object): Buffer => withTail(value, null, 0);

function withTail(header: object, tail: Buffer | null, flags: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const bytes = Buffer.allocUnsafe(PREFIX_BYTES + json.length + (tail?.length ?? 0));
  bytes.writeUInt32LE(json.length, 0);
  bytes[4] = flags;
  json.copy(bytes, PREFIX_BYTES);
  tail?.copy(bytes, PREFIX_BYTES + json.length);
  return bytes;
}

/** The fields of a packet the store keeps (a packet on its way also carries callbacks, which are not data). */
const PACKET_FIELDS = ['cmd', 'brokerId', 'brokerCounter', 'clientId', 'topic', 'payload', 'qos', 'retain', 'dup', 'messageId', 'properties', 'messageExpiry', 'nl'] as const;

/** `extra`: fields the store keeps beside the packet's own (a will's owner). */
export function encodePacket(packet: object, extra: Record<string, unknown> = {}): Buffer {
  const kept: Record<string, unknown> = { ...extra };
  let payload: Buffer | null = null;
  let flags = 0;
  for (const field of PACKET_FIELDS) {
    const value = (packet as Record<string, unknown>)[field];
    if (value === undefined) continue;
    if (field === 'payload') {
      // A string payload (Aedes's publish() takes one) is kept as the UTF-8 bytes MQTT sends for it: read back, every payload is a Buffer.
      payload = typeof value === 'string' ? Buffer.from(value) : (value as Buffer);
      flags |= FLAGS.payload;
    } else if (field === 'properties' && Buffer.isBuffer((value as Record<string, unknown>).correlationData)) {
      const properties = value as { correlationData: Buffer };
      kept.properties = { ...properties, correlationData: properties.correlationData.toString('base64') };
      flags |= FLAGS.base64CorrelationData;
    } else {
      kept[field] = value;
    }
  }
  return withTail(kept, payload, flags);
}

/** A value that did not read back as what the store wrote: the file holding it is damaged. */
export class DamagedRecordError extends Error {
  override name = 'DamagedRecordError';
}

export function decode(key: string, bytes: Buffer): Record<string, unknown> {
  const length = bytes.length >= PREFIX_BYTES ? bytes.readUInt32LE(0) : -1;
  const flags = bytes[4] ?? 0;
  const end = PREFIX_BYTES + length;
  let value: unknown;
  try {
    if (length < 0 || end > bytes.length || flags > (FLAGS.payload | FLAGS.base64CorrelationData)) throw new Error('not a record');
    value = JSON.parse(bytes.toString('utf8', PREFIX_BYTES, end));
  } catch {
    throw new DamagedRecordError(`a record that cannot be read (${describeKey(key)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DamagedRecordError(`a record that is not an object (${describeKey(key)})`);
  const record = value as Record<string, unknown>;
  // Set, never deleted: a deleted field would leave the object slow to read and copy (V8's dictionary mode).
  if (flags & FLAGS.payload) record.payload = bytes.subarray(end);
  else if (end !== bytes.length) throw new DamagedRecordError(`a record with bytes after its fields (${describeKey(key)})`);
  const properties = record.properties as Record<string, unknown> | undefined;
  if (flags & FLAGS.base64CorrelationData && typeof properties?.correlationData === 'string') {
    properties.correlationData = Buffer.from(properties.correlationData, 'base64');
  }
  return record;
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

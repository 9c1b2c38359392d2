/** The fields of a PUBLISH that make its bytes (no properties; MQTT 5 writes their length, 0). */
export interface PublishFields {
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  messageId?: number;
  /** 5: an MQTT 5 PUBLISH (the same with an empty property list); otherwise MQTT 3.1.1's. */
  protocolVersion?: 4 | 5;
}

/** The largest remaining length MQTT's variable byte integer can carry (MQTT 3.1.1 §2.2.3). */
const MAX_REMAINING_LENGTH = 268_435_455;

/**
 * One PUBLISH packet as one buffer, byte for byte what mqtt-packet's `generate` makes of it (checked by
 * publish-encoding.test.ts), in one allocation instead of five writes. Undefined when it cannot be encoded
 * (too long, or a QoS > 0 without a message id): the caller leaves such a packet to the normal path.
 */
export function encodePublish(p: PublishFields): Buffer | undefined {
  const topicLength = Buffer.byteLength(p.topic);
  const payloadLength = typeof p.payload === 'string' ? Buffer.byteLength(p.payload) : p.payload.length;
  if (p.qos > 0 && !(Number.isInteger(p.messageId) && p.messageId! >= 0 && p.messageId! <= 0xffff)) return undefined;
  if (topicLength > 0xffff) return undefined;
  const v5 = p.protocolVersion === 5;
  const remaining = 2 + topicLength + (p.qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payloadLength;
  if (remaining > MAX_REMAINING_LENGTH) return undefined;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const out = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  out[0] = 0x30 | (p.dup ? 0x08 : 0) | (p.qos << 1) | (p.retain ? 0x01 : 0);
  let at = 1;
  let rest = remaining;
  do {
    const digit = rest % 0x80;
    rest = Math.floor(rest / 0x80);
    out[at++] = rest > 0 ? digit | 0x80 : digit;
  } while (rest > 0);
  out.writeUInt16BE(topicLength, at);
  at += 2;
  at += out.write(p.topic, at, 'utf8');
  if (p.qos > 0) {
    out.writeUInt16BE(p.messageId!, at);
    at += 2;
  }
  if (v5) out[at++] = 0; // no properties
  if (typeof p.payload === 'string') out.write(p.payload, at, 'utf8');
  else p.payload.copy(out, at);
  return out;
}

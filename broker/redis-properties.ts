/**
 * The MQTT 5 properties of a message read from Redis, checked like the packet's other fields (redis-records.ts)
 * and rebuilt from the ones worth passing on to another instance's subscribers. Aedes hands a message's
 * `properties` to mqtt-packet as they are, once for every MQTT 5 subscriber: a property of the wrong type, or a
 * nil (msgpack's undefined), makes mqtt-packet destroy that subscriber's connection; a string over 65,535 bytes
 * cannot be encoded; and thousands of user properties are thousands of writes per subscriber.
 */
import { topicShapeProblem } from './admission/topic-shape';
import type { Limits } from './security/limits';

/** What a subscriber gets as the publisher set it (MQTT 5 §3.3.2.3). */
export interface ForwardedProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
}

// Left out, whatever a record holds: topicAlias (it names a topic only on the connection that set it; Aedes
// leaves it as undefined, which reaches Redis as nil) and subscriptionIdentifier (Aedes adds each subscriber's
// own at delivery). Any other property does not belong on a PUBLISH.

/** MQTT's own bounds: a UTF-8 string or binary field is at most 65,535 bytes (§1.5.4, §1.5.6). */
const MAX_FIELD_BYTES = 0xffff;
/** The Message Expiry Interval is a Four Byte Integer, in seconds (§3.3.2.3.3). */
export const MAX_EXPIRY_INTERVAL_S = 0xffff_ffff;

/**
 * User properties a message may carry, counting each value of a repeated name. Far above what clients send
 * (Home Assistant and Sparkplug send none, MQTTX a handful); what it stops is a forged record of tens of thousands
 * of empty pairs (256 KiB holds 52,000), each written on its own by mqtt-packet for every MQTT 5 subscriber.
 */
export const MAX_USER_PROPERTIES = 1024;

/**
 * The properties' size as MQTT encodes them must fit in `maxPacketBytes`, the largest packet a client may send
 * this broker: a message's properties can never be larger than the PUBLISH that brought them in.
 */
export type PropertyLimits = Pick<Limits, 'maxPacketBytes' | 'maxTopicLength' | 'maxTopicLevels'>;

export type ReadProperties = { ok: ForwardedProperties | undefined } | { problem: string };

/** The forwarded properties of `value` (a decoded record's `properties`), undefined when it has none. */
export function readProperties(value: unknown, limits: PropertyLimits): ReadProperties {
  if (value === undefined || value === null) return { ok: undefined };
  if (!isPlainRecord(value)) return { problem: 'properties that are not an object' };
  const { payloadFormatIndicator, messageExpiryInterval, contentType, responseTopic, correlationData, userProperties } = value;
  const out: ForwardedProperties = {};
  // Each property's encoded size: its identifier byte, then its value (a 2-byte length before strings and bytes).
  let bytes = 0;

  if (payloadFormatIndicator != null) {
    if (typeof payloadFormatIndicator !== 'boolean') return { problem: 'a payload format indicator that is not true or false' };
    out.payloadFormatIndicator = payloadFormatIndicator;
    bytes += 2;
  }
  if (messageExpiryInterval != null) {
    if (!isExpiryInterval(messageExpiryInterval)) return { problem: 'a message expiry interval that is not a 4-byte count of seconds' };
    out.messageExpiryInterval = messageExpiryInterval;
    bytes += 5;
  }
  if (contentType != null) {
    const problem = stringProblem(contentType, 'content type');
    if (problem) return { problem };
    out.contentType = contentType as string;
    bytes += 3 + Buffer.byteLength(out.contentType);
  }
  if (responseTopic != null) {
    const problem = responseTopicProblem(responseTopic, limits);
    if (problem) return { problem };
    out.responseTopic = responseTopic as string;
    bytes += 3 + Buffer.byteLength(out.responseTopic);
  }
  if (correlationData != null) {
    if (!Buffer.isBuffer(correlationData)) return { problem: 'correlation data that is not bytes' };
    if (correlationData.length > MAX_FIELD_BYTES) return { problem: `correlation data of ${correlationData.length} bytes (MQTT allows ${MAX_FIELD_BYTES})` };
    out.correlationData = correlationData;
    bytes += 3 + correlationData.length;
  }
  if (userProperties != null) {
    const read = readUserProperties(userProperties);
    if ('problem' in read) return read;
    out.userProperties = read.ok.pairs;
    bytes += read.ok.bytes;
  }
  if (bytes > limits.maxPacketBytes) return { problem: `properties of ${bytes} bytes (limit ${limits.maxPacketBytes}, the largest packet)` };
  return { ok: Object.keys(out).length > 0 ? out : undefined };
}

/**
 * Aedes' absolute expiry time (ms since the epoch) of a message published with an expiry interval. Past is fine
 * (Aedes drops the message); further ahead than an interval can say is brought back to the largest interval, as
 * Aedes sends what is left of it as a 4-byte interval (an instance's clock a second ahead of this one's would
 * otherwise turn the largest interval into one mqtt-packet cannot encode). Null when it is not a time.
 */
export function readMessageExpiry(value: unknown, now = Date.now()): number | null {
  if (!Number.isSafeInteger(value) || (value as number) < 0) return null;
  return Math.min(value as number, now + MAX_EXPIRY_INTERVAL_S * 1000);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function isExpiryInterval(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_EXPIRY_INTERVAL_S;
}

/** An MQTT UTF-8 string: at most 65,535 bytes, no U+0000 (§1.5.4). */
function stringProblem(value: unknown, what: string): string | null {
  if (typeof value !== 'string') return `a ${what} that is not a string`;
  if (value.length > MAX_FIELD_BYTES || Buffer.byteLength(value) > MAX_FIELD_BYTES) return `a ${what} over ${MAX_FIELD_BYTES} bytes`;
  return value.includes('\u0000') ? `a ${what} with U+0000` : null;
}

/** A topic name (§3.3.2.3.5): not empty, no wildcard, within the broker's topic limits. */
function responseTopicProblem(value: unknown, limits: PropertyLimits): string | null {
  const problem = stringProblem(value, 'response topic');
  if (problem) return problem;
  const topic = value as string;
  if (topic === '' || /[+#]/.test(topic)) return 'a response topic that is empty or has a wildcard';
  const shape = topicShapeProblem(topic, limits);
  return shape ? `a response topic: ${shape}` : null;
}

/** `{name: value | [value, …]}`, as mqtt-packet reads them (a name given more than once holds a list). */
function readUserProperties(value: unknown): { ok: { pairs: Record<string, string | string[]>; bytes: number } } | { problem: string } {
  if (!isPlainRecord(value)) return { problem: 'user properties that are not an object' };
  const names = Object.keys(value);
  // mqtt-packet never reads an empty set, and writes a PUBLISH that has one as nothing at all: lost, unseen.
  if (names.length === 0) return { problem: 'user properties with no pair' };
  if (names.length > MAX_USER_PROPERTIES) return { problem: `more than ${MAX_USER_PROPERTIES} user properties` };
  // Null prototype, as mqtt-packet makes them: a name is only ever a name.
  const pairs: Record<string, string | string[]> = Object.create(null);
  let count = 0;
  let bytes = 0;
  for (const name of names) {
    const nameProblem = stringProblem(name, 'user property name');
    if (nameProblem) return { problem: nameProblem };
    const given = value[name];
    const values = Array.isArray(given) ? given : [given];
    if (values.length === 0) return { problem: 'a user property with no value' }; // written as nothing, like an empty set
    count += values.length;
    if (count > MAX_USER_PROPERTIES) return { problem: `more than ${MAX_USER_PROPERTIES} user properties` };
    for (const v of values) {
      const valueProblem = stringProblem(v, 'user property value');
      if (valueProblem) return { problem: valueProblem };
      bytes += 5 + Buffer.byteLength(name) + Buffer.byteLength(v as string);
    }
    // One value is a string, as mqtt-packet reads it (the same pair on the wire either way).
    pairs[name] = values.length > 1 ? [...(values as string[])] : (values[0] as string);
  }
  return { ok: { pairs, bytes } };
}

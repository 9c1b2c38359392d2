/**
 * What an instance reads from Redis, checked before Aedes sees it. Anyone who can write to Redis can write
 * anything there; these checks make sure that what reaches Aedes has the shape Aedes wrote (so nothing it reads
 * can throw inside Aedes and stop the process), never carries a `$mqlive/` notice (those are decided and written
 * by an instance to its own client only), and on a contract topic passes the contract again. What they cannot
 * tell: a well-formed message that another instance could have sent (a forged `offline`, a forged `$SYS/`
 * heartbeat or subscription broadcast). Only a private Redis prevents those (docs/scaling-out.md).
 */
import { checkMessage } from '../protocol';
import { isPlainValidMove } from './admission/plain-move';
import { BROKER_TOPICS } from './admission/refusal-notice';
import { topicShapeProblem } from './admission/topic-shape';
import type { PublishFields } from './publish-encoding';
import { readMessageExpiry, readProperties, type ForwardedProperties } from './redis-properties';
import type { Limits } from './security/limits';

export type RecordLimits = Pick<Limits, 'maxTopicLength' | 'maxTopicLevels' | 'maxContractPayloadBytes' | 'maxPacketBytes'>;

/** Aedes' publish packet (aedes-packet), rebuilt from its checked fields alone. */
export interface RedisPacket extends PublishFields {
  cmd: 'publish';
  brokerId?: string;
  brokerCounter?: number | string;
  clientId?: string;
  /** An MQTT 5 publisher's properties, those worth passing on (redis-properties.ts). */
  properties?: ForwardedProperties;
  /** Aedes' absolute expiry time (ms since the epoch) of a message with a Message Expiry Interval. */
  messageExpiry?: number;
}

/** A QoS 2 delivery waiting for its PUBCOMP, as aedes-persistence-redis keeps it in a session's queue. */
export interface RedisPubrel {
  cmd: 'pubrel';
  messageId: number;
  brokerId?: string;
  brokerCounter?: number | string;
}

export type Checked<T> = { ok: T } | { problem: string };

/** Where a stored packet was read: each has its own rules on top of the packet's shape. */
export type StoredKind = 'retained' | 'will' | 'queued';

const SYS = '$SYS/';
/** Aedes' subscription broadcasts between instances (aedes-persistence's broadcastPersistence.js): JSON. */
const SUBSCRIPTION_BROADCASTS = new Set(['$SYS/sub/add', '$SYS/sub/rm']);

/** A message from the pub/sub channel `channel` (mqemitter-redis' `msg`, already decoded from msgpack). */
export function checkFromChannel(value: unknown, channel: string, limits: RecordLimits): Checked<RedisPacket> {
  return guarded(() => {
    const read = readPacket(value, limits);
    if ('problem' in read) return read;
    const packet = read.ok;
    if (packet.topic !== channel) return { problem: 'its topic is not the channel it came on' };
    if (SUBSCRIPTION_BROADCASTS.has(packet.topic)) return orProblem(packet, subscriptionBroadcastProblem(packet.payload));
    return orProblem(packet, notBrokerTopic(packet.topic) ?? contractProblem(packet, limits));
  });
}

/** A retained message (`field`: the topic it is stored under), a will, or a message queued for a session. */
export function checkStored(value: unknown, kind: StoredKind, limits: RecordLimits, field?: string): Checked<RedisPacket | RedisPubrel> {
  return guarded<RedisPacket | RedisPubrel>(() => {
    if (kind === 'queued' && isRecord(value) && value.cmd === 'pubrel') return readPubrel(value);
    const read = readPacket(value, limits);
    if ('problem' in read) return read;
    const packet = read.ok;
    if (kind === 'retained' && field !== undefined && packet.topic !== field) return { problem: `stored under ${field} but for another topic` };
    if (kind !== 'queued' && packet.topic.startsWith(SYS)) return { problem: `a ${kind} message on a ${SYS} topic` };
    if (kind === 'will' && (typeof packet.clientId !== 'string' || Object.hasOwn(Object.prototype, packet.clientId))) return { problem: 'a will without a client id' };
    return orProblem(packet, notBrokerTopic(packet.topic) ?? contractProblem(packet, limits));
  });
}

/** A session's subscription as Aedes stores it, with its MQTT 5 options (absent or nil for a 3.1.1 client). */
export interface RedisSubscription {
  topic: string;
  qos: 0 | 1 | 2;
  /** Retain Handling: 0 send retained on subscribe, 1 only on a new subscription, 2 never. */
  rh?: 0 | 1 | 2;
  /** Retain As Published. */
  rap?: boolean;
  /** No Local: not the client's own messages. */
  nl?: boolean;
  subscriptionIdentifier?: number;
}

/** MQTT 5's largest Subscription Identifier, a Variable Byte Integer (§3.8.2.1.2). */
const MAX_SUBSCRIPTION_IDENTIFIER = 268_435_455;

/** A session's stored subscription (`field`: the filter it is stored under), as aedes-persistence-redis wrote it. */
export function checkSubscription(value: unknown, field: string, limits: RecordLimits): Checked<RedisSubscription> {
  return guarded<RedisSubscription>(() => {
    if (!isRecord(value)) return { problem: 'a subscription that is not an object' };
    if (value.topic !== field) return { problem: `stored under ${field} but for another filter` };
    const topic = field;
    const shape = topicShapeProblem(topic, limits) ?? (topic === '' || topic.includes('\u0000') ? 'an empty filter or one with U+0000' : null);
    if (shape) return { problem: shape };
    if (!isQos(value.qos)) return { problem: 'a QoS that is not 0, 1 or 2' };
    const { rh, rap, nl, subscriptionIdentifier } = value;
    if (!optional(rh, isQos) || !optional(rap, isBoolean) || !optional(nl, isBoolean)) return { problem: 'subscription options of the wrong type' };
    if (!optional(subscriptionIdentifier, isSubscriptionIdentifier)) return { problem: 'a subscription identifier that is not 1 to 268435455' };
    const subscription: RedisSubscription = { topic, qos: value.qos };
    if (rh != null) subscription.rh = rh;
    if (rap != null) subscription.rap = rap;
    if (nl != null) subscription.nl = nl;
    if (subscriptionIdentifier != null) subscription.subscriptionIdentifier = subscriptionIdentifier;
    return { ok: subscription };
  });
}

/** The checks must not throw either: whatever they cannot handle is a problem, not an exception. */
function guarded<T>(check: () => Checked<T>): Checked<T> {
  try {
    return check();
  } catch (error) {
    return { problem: `could not be checked (${(error as Error).name})` };
  }
}

function orProblem<T>(value: T, problem: string | null): Checked<T> {
  return problem === null ? { ok: value } : { problem };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function isQos(value: unknown): value is 0 | 1 | 2 {
  return value === 0 || value === 1 || value === 2;
}

/** msgpack writes an undefined field as nil: both mean absent. */
function optional<T>(value: unknown, is: (v: unknown) => v is T): value is T | undefined | null {
  return value === undefined || value === null || is(value);
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isPacketId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;
const isCounter = (v: unknown): v is number | string =>
  (Number.isSafeInteger(v) && (v as number) >= 0) || (typeof v === 'string' && /^\d{1,16}$/.test(v));
const isSubscriptionIdentifier = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_SUBSCRIPTION_IDENTIFIER;

/**
 * The shape Aedes gives a publish: a topic name (no wildcard, no U+0000, within the limits), bytes, QoS, flags, and
 * from an MQTT 5 publisher its properties and expiry time.
 */
function readPacket(value: unknown, limits: RecordLimits): Checked<RedisPacket> {
  if (!isRecord(value)) return { problem: 'not a packet' };
  const { cmd, topic, payload, qos, retain, dup, brokerId, brokerCounter, messageId, clientId, properties, messageExpiry } = value;
  if (cmd !== undefined && cmd !== 'publish') return { problem: 'not a publish' };
  if (typeof topic !== 'string' || topic === '') return { problem: 'no topic' };
  const shape = topicShapeProblem(topic, limits);
  if (shape) return { problem: shape };
  if (/[+#\u0000]/.test(topic)) return { problem: 'a topic with a wildcard or U+0000' };
  if (!(Buffer.isBuffer(payload) || typeof payload === 'string')) return { problem: 'a payload that is not bytes' };
  if (!isQos(qos)) return { problem: 'a QoS that is not 0, 1 or 2' };
  if (!optional(retain, isBoolean) || !optional(dup, isBoolean)) return { problem: 'flags that are not true or false' };
  if (!optional(brokerId, isString) || !optional(brokerCounter, isCounter)) return { problem: 'a broker id or counter of the wrong type' };
  if (!optional(messageId, isPacketId) || !optional(clientId, isString)) return { problem: 'a packet or client id of the wrong type' };
  const forwarded = readProperties(properties, limits);
  if ('problem' in forwarded) return forwarded;
  const expiry = messageExpiry == null ? undefined : readMessageExpiry(messageExpiry);
  if (expiry === null) return { problem: 'a message expiry that is not a time' };
  const packet: RedisPacket = { cmd: 'publish', topic, payload, qos, retain: retain ?? false, dup: dup ?? false };
  if (brokerId != null) packet.brokerId = brokerId;
  if (brokerCounter != null) packet.brokerCounter = brokerCounter;
  if (messageId != null) packet.messageId = messageId;
  if (clientId != null) packet.clientId = clientId;
  if (forwarded.ok !== undefined) packet.properties = forwarded.ok;
  if (expiry !== undefined) packet.messageExpiry = expiry;
  return { ok: packet };
}

function readPubrel(value: Record<string, unknown>): Checked<RedisPubrel> {
  const { messageId, brokerId, brokerCounter } = value;
  if (!isPacketId(messageId) || !optional(brokerId, isString) || !optional(brokerCounter, isCounter)) return { problem: 'a PUBREL of the wrong shape' };
  const pubrel: RedisPubrel = { cmd: 'pubrel', messageId };
  if (brokerId != null) pubrel.brokerId = brokerId;
  if (brokerCounter != null) pubrel.brokerCounter = brokerCounter;
  return { ok: pubrel };
}

/** `$mqlive/` notices are written by an instance to its own client, never read from Redis. */
function notBrokerTopic(topic: string): string | null {
  return topic.startsWith(BROKER_TOPICS) ? `${BROKER_TOPICS} notices never come from Redis` : null;
}

/** The topic contract again (ids, payloads, size), as admission/contract.ts checks a client's publish. */
function contractProblem(packet: RedisPacket, limits: RecordLimits): string | null {
  const bytes = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  if (bytes.length <= limits.maxContractPayloadBytes && isPlainValidMove(packet.topic, bytes)) return null;
  const result = checkMessage(packet.topic, bytes);
  if (result.topic && bytes.length > limits.maxContractPayloadBytes) return `payload of ${bytes.length} bytes on a contract topic (limit ${limits.maxContractPayloadBytes})`;
  return result.ok ? null : result.reason;
}

/** `{"clientId": "…", "subs": [{"topic": "…", "qos": 0|1|2}, …]}`: what Aedes' subscription broadcast reads. */
function subscriptionBroadcastProblem(payload: Buffer | string): string | null {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'a subscription broadcast that is not JSON';
  }
  if (!isRecord(value) || !isString(value.clientId) || !Array.isArray(value.subs)) return 'a subscription broadcast without a client id and a list';
  const fine = value.subs.every((s: unknown) => isRecord(s) && typeof s.topic === 'string' && s.topic !== '' && isQos(s.qos));
  return fine ? null : 'a subscription broadcast with a subscription of the wrong shape';
}

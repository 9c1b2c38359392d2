import type { PublishPacket } from 'aedes';
import { MAX_PROPERTY_BYTES, MAX_USER_PROPERTIES } from '../../protocol/message-properties';
import type { Limits } from '../security/limits';
import type { Identity, Rights } from '../security/rights';
import type { Refusal } from './refusal';
import { reservedTopic } from './reserved-topic';
import { topicShapeProblem } from './topic-shape';

// One place for the limits: recordings (protocol/recording.ts) are held to the same ones.
export { MAX_PROPERTY_BYTES, MAX_USER_PROPERTIES };

type Properties = NonNullable<PublishPacket['properties']>;

/** The properties a PUBLISH carries on to its subscribers (MQTT 5 §3.3.2.3); the topic alias is the connection's. */
const FORWARDED = new Set(['payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties', 'topicAlias']);

/**
 * Leaves on a PUBLISH (or a will) only the properties a PUBLISH carries on. mqtt-packet reads any property on any
 * packet: a reason string, authentication data or a subscription identifier sent on a PUBLISH would otherwise be
 * stored with it and sent to every subscriber, outside the size bound below; and a will's delay is the broker's
 * business (Aedes's beta sent it on, moscajs/aedes#1098).
 */
export function keepForwardedProperties(packet: PublishPacket): void {
  const properties = packet.properties as Record<string, unknown> | undefined;
  if (!properties) return;
  for (const name in properties) if (!FORWARDED.has(name)) delete properties[name];
}

/**
 * An MQTT 5 PUBLISH's (or will's) properties are never a way around a rule:
 * - a response topic asks whoever answers to publish there, so it must be a topic its sender could publish to
 *   itself (not `$SYS/`, `$mqlive/`, nor another client's namespace): no one is made to write where the sender
 *   may not;
 * - their number and size are bounded, since they are stored and sent with the message to every subscriber.
 * A PUBLISH without properties (every MQTT 3.1.1 one) costs one check.
 */
export function publishProperties(packet: PublishPacket, identity: Identity | undefined, rights: Rights, limits: Pick<Limits, 'maxTopicLength' | 'maxTopicLevels'>): Refusal | null {
  const properties = packet.properties;
  if (!properties) return null;
  const size = sizeProblem(properties);
  if (size) return { reason: 'too_large', why: size, disconnect: false };
  const responseTopic = properties.responseTopic;
  if (responseTopic === undefined) return null;
  const reserved = reservedTopic(responseTopic);
  if (reserved) return { reason: 'not_authorized', why: `a response topic under ${responseTopic.startsWith('$SYS') ? '$SYS/' : '$mqlive/'} is not allowed`, disconnect: false };
  const shape = topicShapeProblem(responseTopic, limits);
  if (shape) return { reason: 'bad_topic', why: `response ${shape}`, disconnect: false };
  if (identity && !rights.canPublish(identity, responseTopic)) {
    return { reason: 'not_authorized', why: `a response topic this client may not publish to itself (${responseTopic})`, disconnect: false };
  }
  return null;
}

function sizeProblem(properties: Properties): string | null {
  let count = 0;
  let bytes = byteLength(properties.contentType) + byteLength(properties.responseTopic) + byteLength(properties.correlationData);
  const user = properties.userProperties;
  if (user) {
    for (const key in user) {
      const values = user[key];
      for (const value of Array.isArray(values) ? values : [values]) {
        count += 1;
        bytes += byteLength(key) + byteLength(value);
      }
      if (count > MAX_USER_PROPERTIES) return `more than ${MAX_USER_PROPERTIES} user properties`;
    }
  }
  return bytes > MAX_PROPERTY_BYTES ? `properties of more than ${MAX_PROPERTY_BYTES} bytes` : null;
}

function byteLength(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  return Buffer.isBuffer(value) ? value.length : 0;
}

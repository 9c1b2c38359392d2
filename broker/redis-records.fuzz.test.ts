import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { fuzz } from '../test-support/fuzz';
import { checkFromChannel, checkStored, checkSubscription } from './redis-records';
import { DEFAULT_LIMITS } from './security/limits';

// Fuzz target: what an instance reads from Redis (the pub/sub channel and stored records) is checked, and a
// check never throws, whatever was decoded: any value, and whatever msgpack makes of any bytes.
const limits = DEFAULT_LIMITS;

/** A value for a property: often the right type, sometimes nearly (a number for a string, nil, a list, …). */
const near = <T>(right: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: right }, fc.constant(null), fc.anything({ maxDepth: 1 }));
const text = fc.string({ unit: 'binary', maxLength: 12 });
const properties = fc.record(
  {
    payloadFormatIndicator: near(fc.boolean()),
    messageExpiryInterval: near(fc.oneof(fc.nat(), fc.constant(0xffff_ffff), fc.integer({ min: -2, max: 2 ** 33 }))),
    contentType: near(text),
    responseTopic: near(fc.oneof(text, fc.constantFrom('r/t', 'r/#', '', 'a/+/b'))),
    correlationData: near(fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b))),
    userProperties: near(fc.dictionary(text, near(fc.oneof(text, fc.array(text, { maxLength: 3 }))), { maxKeys: 6 })),
    topicAlias: near(fc.integer({ min: 0, max: 70_000 })),
    subscriptionIdentifier: near(fc.nat()),
  },
  { requiredKeys: [] },
);
/** A publish as an instance writes it, with MQTT 5 properties and an expiry time of any shape. */
const v5Packet = fc.record(
  {
    cmd: fc.constant('publish'),
    topic: fc.constant('free/x'),
    payload: fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
    qos: fc.constantFrom(0, 1, 2),
    retain: fc.boolean(),
    dup: fc.boolean(),
    properties: fc.oneof(properties, near(fc.constant({}))),
    messageExpiry: near(fc.oneof(fc.nat(), fc.maxSafeNat(), fc.integer({ min: -5, max: 0 }))),
  },
  { requiredKeys: ['cmd', 'topic', 'payload', 'qos'] },
);

const PUBLISH_PROPERTIES = ['payloadFormatIndicator', 'messageExpiryInterval', 'contentType', 'responseTopic', 'correlationData', 'userProperties'];

/**
 * User properties as mqtt-packet 9's parser reads the pairs written for them: a name whose value so far is the
 * empty string (falsy) takes the next value in its place instead of becoming a list. The bytes on the wire hold
 * every pair; this is the reading side's quirk.
 */
function asMqttPacketReads(pairs: Record<string, string | string[]> | undefined): Record<string, string | string[]> {
  const read: Record<string, string | string[]> = Object.create(null);
  for (const [name, values] of Object.entries(pairs ?? {})) {
    for (const value of [values].flat()) {
      const before = read[name];
      read[name] = before ? [before, value].flat() : value;
    }
  }
  return read;
}

describe('records read from Redis (fuzz)', () => {
  fuzz('any decoded value on any channel', fc.tuple(fc.anything({ withBoxedValues: true, withNullPrototype: true, withTypedArray: true }), fc.string()), ([value, channel]) => {
    const checked = checkFromChannel(value, channel, limits);
    expect('ok' in checked || 'problem' in checked).toBe(true);
    const subscription = checkSubscription(value, channel, limits);
    expect('ok' in subscription || 'problem' in subscription).toBe(true);
  }, 500);

  fuzz('a stored subscription with options of any shape', fc.record({ rh: fc.anything(), rap: fc.anything(), nl: fc.anything(), subscriptionIdentifier: fc.anything() }, { requiredKeys: [] }), (options) => {
    const checked = checkSubscription(msgpack.decode(msgpack.encode({ topic: 'a/#', qos: 1, ...options })), 'a/#', limits);
    if ('problem' in checked) return;
    const { rh, rap, nl, subscriptionIdentifier } = checked.ok;
    expect([undefined, 0, 1, 2]).toContain(rh);
    expect([undefined, true, false]).toContain(rap);
    expect([undefined, true, false]).toContain(nl);
    if (subscriptionIdentifier !== undefined) expect(Number.isInteger(subscriptionIdentifier) && subscriptionIdentifier >= 1).toBe(true);
  }, 300);

  fuzz('any bytes through msgpack, as a message, a will and a subscription', fc.uint8Array({ maxLength: 64 }), (bytes) => {
    let value: unknown;
    try {
      value = msgpack.decode(Buffer.from(bytes));
    } catch {
      return;
    }
    checkFromChannel(value, 'free/x', limits);
    checkStored(value, 'will', limits);
    checkSubscription(value, 'free/#', limits);
  }, 2000);

  // What passes holds only forwarded properties, which mqtt-packet writes to an MQTT 5 subscriber (a property it
  // cannot write destroys that subscriber's connection) and reads back as they were; and it checks the same again
  // after the msgpack round trip redis-stored.ts makes.
  let passedWithProperties = 0;
  fuzz('a publish with MQTT 5 properties of any shape, through msgpack and out to an MQTT 5 subscriber', v5Packet, (sent) => {
    const value = msgpack.decode(msgpack.encode(sent));
    const checked = checkFromChannel(value, 'free/x', limits);
    if ('problem' in checked) return;
    const { properties: kept, messageExpiry } = checked.ok;
    if (messageExpiry !== undefined) expect(Number.isSafeInteger(messageExpiry) && messageExpiry >= 0).toBe(true);
    expect(checkFromChannel(msgpack.decode(msgpack.encode(checked.ok)), 'free/x', limits)).toEqual(checked);
    if (kept === undefined) return;
    passedWithProperties++;
    for (const name of Object.keys(kept)) expect(PUBLISH_PROPERTIES).toContain(name);
    const wire = mqttPacket.generate({ ...checked.ok, messageId: 1, properties: kept }, { protocolVersion: 5 });
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const read: mqttPacket.IPublishPacket[] = [];
    parser.on('packet', (p) => read.push(p as mqttPacket.IPublishPacket));
    parser.parse(wire);
    expect(read, 'mqtt-packet wrote a packet it reads back').toHaveLength(1);
    expect({ ...read[0]!.properties, userProperties: { ...read[0]!.properties?.userProperties } }).toEqual({ ...kept, userProperties: asMqttPacketReads(kept.userProperties) });
  }, 1000);

  it('the fuzz target above reaches the packets that pass with properties', () => {
    expect(passedWithProperties).toBeGreaterThan(50);
  });
});

import { describe, expect, it } from 'vitest';
import msgpack from 'msgpack-lite';
import { MAX_EXPIRY_INTERVAL_S, MAX_USER_PROPERTIES } from './redis-properties';
import { checkFromChannel, checkStored, checkSubscription } from './redis-records';
import { DEFAULT_LIMITS } from './security/limits';

const limits = DEFAULT_LIMITS;
const packet = (fields: Record<string, unknown> = {}) => ({
  cmd: 'publish',
  brokerId: 'broker-a',
  brokerCounter: 3,
  topic: 'free/x',
  payload: Buffer.from('hi'),
  qos: 0,
  retain: false,
  dup: false,
  ...fields,
});
const problem = (r: object) => ('problem' in r ? (r as { problem: string }).problem : null);

describe('checkFromChannel: a message from the pub/sub channel', () => {
  it('passes what an instance sends, rebuilt from its fields alone', () => {
    const sent = { ...packet({ topic: 'devices/d1/mouse/move', payload: Buffer.from('{"x":1,"y":2,"ts":3,"seq":4}') }), extra: 'dropped' };
    const checked = checkFromChannel(sent, 'devices/d1/mouse/move', limits);
    expect(checked).toEqual({ ok: { ...packet({ topic: 'devices/d1/mouse/move', payload: Buffer.from('{"x":1,"y":2,"ts":3,"seq":4}') }) } });
  });

  it.each([
    ['a $mqlive/ notice', packet({ topic: '$mqlive/clients/me/refused' }), '$mqlive/clients/me/refused', /never come from Redis/],
    ['a topic other than its channel', packet({ topic: 'free/y' }), 'free/x', /not the channel/],
    ['a status the contract refuses', packet({ topic: 'devices/d/status', payload: Buffer.from('hacked') }), 'devices/d/status', /./],
    ['a contract payload over the size limit', packet({ topic: 'devices/d/meta', payload: Buffer.alloc(5000, 32) }), 'devices/d/meta', /limit/],
    ['a subscription broadcast that is not JSON', packet({ topic: '$SYS/sub/add', payload: 'nope' }), '$SYS/sub/add', /not JSON/],
    ['a subscription broadcast of the wrong shape', packet({ topic: '$SYS/sub/rm', payload: '{"clientId":"c","subs":[5]}' }), '$SYS/sub/rm', /wrong shape/],
    ['a wildcard topic', packet({ topic: 'free/#' }), 'free/#', /wildcard/],
    ['a QoS of 3', packet({ qos: 3 }), 'free/x', /QoS/],
    ['a payload that is a number', packet({ payload: 5 }), 'free/x', /bytes/],
    ['not a packet', [1, 2], 'free/x', /not a packet/],
    ['nothing', undefined, 'free/x', /not a packet/],
  ])('refuses %s', (_what, value, channel, reason) => {
    expect(problem(checkFromChannel(value, channel, limits))).toMatch(reason);
  });

  it('passes a well-formed subscription broadcast and a heartbeat: those cannot be told from a forged one', () => {
    expect(checkFromChannel(packet({ topic: '$SYS/sub/add', payload: '{"clientId":"c","subs":[{"topic":"a/#","qos":1}]}' }), '$SYS/sub/add', limits)).toHaveProperty('ok');
    expect(checkFromChannel(packet({ topic: '$SYS/broker-b/heartbeat', payload: Buffer.from('broker-b') }), '$SYS/broker-b/heartbeat', limits)).toHaveProperty('ok');
  });
});

describe('MQTT 5 properties and expiry in a record', () => {
  const properties = {
    payloadFormatIndicator: true,
    messageExpiryInterval: 60,
    contentType: 'application/json',
    responseTopic: 'r/t',
    correlationData: Buffer.from([0, 255]),
    userProperties: { a: '1', b: ['x', 'y'], '': '' },
  };
  const ok = (r: object) => (r as { ok: Record<string, unknown> }).ok;

  it('passes the properties a subscriber gets, through msgpack as instances write them, and the expiry time', () => {
    const sent = msgpack.decode(msgpack.encode(packet({ properties, messageExpiry: 1_800_000_000_000 })));
    const checked = ok(checkFromChannel(sent, 'free/x', limits));
    expect(checked.properties).toEqual(properties);
    expect(checked.messageExpiry).toBe(1_800_000_000_000);
    expect(ok(checkStored(sent, 'retained', limits, 'free/x')).properties).toEqual(properties);
    expect(ok(checkStored(sent, 'queued', limits)).properties).toEqual(properties);
  });

  it("leaves out what is per connection or per subscriber, nil (Aedes' undefined topic alias) and what is not a PUBLISH property", () => {
    const sent = msgpack.decode(msgpack.encode(packet({ properties: { contentType: 'text/plain', topicAlias: undefined, subscriptionIdentifier: 7, reasonString: 'x', responseTopic: null } })));
    expect(ok(checkFromChannel(sent, 'free/x', limits)).properties).toEqual({ contentType: 'text/plain' });
    expect(ok(checkFromChannel(packet({ properties: { topicAlias: 3 } }), 'free/x', limits))).not.toHaveProperty('properties');
    expect(ok(checkFromChannel(packet({ properties: null, messageExpiry: null }), 'free/x', limits))).toEqual(packet());
  });

  it.each([
    ['properties that are a list', { properties: [1] }, /not an object/],
    ['a payload format indicator of 1', { properties: { payloadFormatIndicator: 1 } }, /payload format/],
    ['a negative expiry interval', { properties: { messageExpiryInterval: -1 } }, /expiry interval/],
    ['an expiry interval over 4 bytes', { properties: { messageExpiryInterval: MAX_EXPIRY_INTERVAL_S + 1 } }, /expiry interval/],
    ['a content type that is a number', { properties: { contentType: 7 } }, /content type/],
    ['a content type with U+0000', { properties: { contentType: 'a\u0000b' } }, /U\+0000/],
    ['a content type over 65,535 bytes', { properties: { contentType: 'é'.repeat(40_000) } }, /over 65535 bytes/],
    ['a response topic with a wildcard', { properties: { responseTopic: 'r/#' } }, /wildcard/],
    ['an empty response topic', { properties: { responseTopic: '' } }, /empty/],
    ['a response topic over the topic limits', { properties: { responseTopic: 'r/'.repeat(40) } }, /levels/],
    ['correlation data that is a string', { properties: { correlationData: 'abc' } }, /not bytes/],
    ['correlation data over 65,535 bytes', { properties: { correlationData: Buffer.alloc(65_536) } }, /correlation data of 65536 bytes/],
    ['user properties that are a list', { properties: { userProperties: [['a', 'b']] } }, /not an object/],
    ['a user property value that is a number', { properties: { userProperties: { a: 1 } } }, /user property value/],
    ['user properties with no pair (mqtt-packet writes such a PUBLISH as nothing)', { properties: { userProperties: {} } }, /no pair/],
    ['a user property with an empty list', { properties: { userProperties: { a: [] } } }, /no value/],
    ['a user property list holding an object', { properties: { userProperties: { a: ['x', {}] } } }, /user property value/],
    ['a user property name with U+0000', { properties: { userProperties: { 'a\u0000': 'x' } } }, /name with U\+0000/],
    ['an expiry time that is a string', { messageExpiry: '1800000000000' }, /expiry/],
    ['a negative expiry time', { messageExpiry: -5 }, /expiry/],
  ])('refuses %s', (_what, fields, reason) => {
    expect(problem(checkFromChannel(packet(fields), 'free/x', limits))).toMatch(reason);
    expect(problem(checkStored(packet({ ...fields, retain: true }), 'retained', limits, 'free/x'))).toMatch(reason);
  });

  it(`at most ${MAX_USER_PROPERTIES} user properties, a repeated name counted once per value`, () => {
    const names = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    expect(checkFromChannel(packet({ properties: { userProperties: names(MAX_USER_PROPERTIES) } }), 'free/x', limits)).toHaveProperty('ok');
    expect(problem(checkFromChannel(packet({ properties: { userProperties: names(MAX_USER_PROPERTIES + 1) } }), 'free/x', limits))).toMatch(/more than 1024 user properties/);
    const repeated = { a: Array.from({ length: MAX_USER_PROPERTIES }, () => ''), b: 'one more' };
    expect(problem(checkFromChannel(packet({ properties: { userProperties: repeated } }), 'free/x', limits))).toMatch(/more than 1024/);
  });

  it('properties no larger, as MQTT encodes them, than the largest packet a client may send', () => {
    const small = { ...limits, maxPacketBytes: 100 };
    // 1 identifier byte, 2 length bytes, then the bytes: 3 + 97 = 100 fits, 3 + 98 does not.
    expect(checkFromChannel(packet({ properties: { correlationData: Buffer.alloc(97) } }), 'free/x', small)).toHaveProperty('ok');
    expect(problem(checkFromChannel(packet({ properties: { correlationData: Buffer.alloc(98) } }), 'free/x', small))).toMatch(/properties of 101 bytes \(limit 100/);
    // Each pair: identifier, two lengths, name and value (5 + 2 bytes here); 14 of them are 98 bytes, +2 for the flag.
    const pairs = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [String.fromCharCode(97 + i), 'v']));
    expect(checkFromChannel(packet({ properties: { userProperties: pairs, payloadFormatIndicator: false } }), 'free/x', small)).toHaveProperty('ok');
    expect(problem(checkFromChannel(packet({ properties: { userProperties: pairs, payloadFormatIndicator: false, messageExpiryInterval: 1 } }), 'free/x', small))).toMatch(/105 bytes/);
  });

  it('an expiry time further ahead than a 4-byte interval can say is brought back to the largest interval', () => {
    const before = Date.now();
    const far = ok(checkFromChannel(packet({ messageExpiry: Number.MAX_SAFE_INTEGER }), 'free/x', limits)).messageExpiry as number;
    expect(far).toBeGreaterThanOrEqual(before + MAX_EXPIRY_INTERVAL_S * 1000);
    expect(far).toBeLessThanOrEqual(Date.now() + MAX_EXPIRY_INTERVAL_S * 1000);
    expect(ok(checkFromChannel(packet({ messageExpiry: 5 }), 'free/x', limits)).messageExpiry).toBe(5);
  });

  it('a user property named after an Object.prototype member is only a name', () => {
    const checked = ok(checkFromChannel(packet({ properties: { userProperties: JSON.parse('{"__proto__":"x","constructor":"y","toString":["1","2"]}') } }), 'free/x', limits));
    const pairs = (checked.properties as { userProperties: Record<string, unknown> }).userProperties;
    expect(Object.getPrototypeOf(pairs)).toBeNull();
    expect({ ...pairs }).toEqual({ ['__proto__']: 'x', constructor: 'y', toString: ['1', '2'] });
  });
});

describe('checkStored and checkSubscription', () => {
  it('a will: a client id that is an object property name, or a $SYS/ topic, is refused', () => {
    expect(problem(checkStored(packet({ clientId: '__proto__' }), 'will', limits))).toMatch(/client id/);
    expect(problem(checkStored(packet({ clientId: 'c', topic: '$SYS/sub/add' }), 'will', limits))).toMatch(/\$SYS/);
    expect(checkStored(packet({ clientId: 'c' }), 'will', limits)).toHaveProperty('ok');
  });

  it('a subscription: stored under its own filter with a QoS of 0 to 2', () => {
    expect(checkSubscription({ topic: 'a/#', qos: 1, rh: null, extra: 1 }, 'a/#', limits)).toEqual({ ok: { topic: 'a/#', qos: 1 } });
    expect(problem(checkSubscription({ topic: '#', qos: 1 }, 'a/#', limits))).toMatch(/another filter/);
    expect(problem(checkSubscription(5, 'a/#', limits))).toMatch(/not an object/);
  });
});

describe("a session's stored subscription: its MQTT 5 options", () => {
  it('keeps retain handling, retain as published, no local and the subscription identifier, through msgpack', () => {
    const stored = msgpack.decode(msgpack.encode({ topic: 'a/+', qos: 2, rh: 2, rap: true, nl: false, subscriptionIdentifier: 268_435_455 }));
    expect(checkSubscription(stored, 'a/+', limits)).toEqual({ ok: { topic: 'a/+', qos: 2, rh: 2, rap: true, nl: false, subscriptionIdentifier: 268_435_455 } });
    // A 3.1.1 client's: Aedes leaves the options undefined, nil in msgpack.
    const v311 = msgpack.decode(msgpack.encode({ topic: 'a/+', qos: 1, rh: undefined, rap: undefined, nl: undefined }));
    expect(checkSubscription(v311, 'a/+', limits)).toEqual({ ok: { topic: 'a/+', qos: 1 } });
  });

  it.each([
    ['a retain handling of 3', { rh: 3 }],
    ['a retain as published of 1', { rap: 1 }],
    ['a no local that is a string', { nl: 'true' }],
    ['a subscription identifier of 0', { subscriptionIdentifier: 0 }],
    ['a subscription identifier over a Variable Byte Integer', { subscriptionIdentifier: 268_435_456 }],
    ['a subscription identifier that is not a whole number', { subscriptionIdentifier: 1.5 }],
  ])('refuses %s', (_what, options) => {
    expect(problem(checkSubscription({ topic: 'a/#', qos: 1, ...options }, 'a/#', limits))).toMatch(/subscription (options|identifier)/);
  });
});

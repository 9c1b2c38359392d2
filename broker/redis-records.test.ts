import { describe, expect, it } from 'vitest';
import { checkFromChannel, checkStored, checkSubscription } from './redis-records';
import { redactedUrl, redisConnectionOptions } from './redis-url';
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

describe('checkStored and checkSubscription', () => {
  it('a will: a client id that is an object property name, or a $SYS/ topic, is refused', () => {
    expect(problem(checkStored(packet({ clientId: '__proto__' }), 'will', limits))).toMatch(/client id/);
    expect(problem(checkStored(packet({ clientId: 'c', topic: '$SYS/sub/add' }), 'will', limits))).toMatch(/\$SYS/);
    expect(checkStored(packet({ clientId: 'c' }), 'will', limits)).toHaveProperty('ok');
  });

  it('a subscription: stored under its own filter with a QoS of 0 to 2', () => {
    expect(checkSubscription({ topic: 'a/#', qos: 1, rh: 0 }, 'a/#', limits)).toEqual({ ok: { topic: 'a/#', qos: 1 } });
    expect(problem(checkSubscription({ topic: '#', qos: 1 }, 'a/#', limits))).toMatch(/another filter/);
    expect(problem(checkSubscription(5, 'a/#', limits))).toMatch(/not an object/);
  });
});

describe('--redis URLs', () => {
  it('redis:// with a password (escaped), a user and a database', () => {
    expect(redisConnectionOptions('redis://:p%40ss@10.0.0.5:6380/2')).toMatchObject({ host: '10.0.0.5', port: 6380, password: 'p@ss', username: undefined, db: 2 });
    expect(redisConnectionOptions('redis://mqlive:pw@redis.internal')).toMatchObject({ host: 'redis.internal', port: 6379, username: 'mqlive', password: 'pw', db: 0 });
    expect(redisConnectionOptions('redis://127.0.0.1:6379')).not.toHaveProperty('tls');
  });

  it('rediss:// turns on TLS, with the server name checked, and the CA when given', () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----');
    expect(redisConnectionOptions('rediss://:pw@redis.internal:6390')).toMatchObject({ port: 6390, tls: { servername: 'redis.internal' } });
    expect(redisConnectionOptions('rediss://127.0.0.1:6390', ca).tls).toEqual({ servername: undefined, ca });
  });

  it('refuses other schemes, a CA without TLS and a database that is not a number, never printing the password', () => {
    expect(() => redisConnectionOptions('http://:secret@h')).toThrow(/^--redis http:\/\/:\*\*\*@h\/ must start with redis:\/\/ or rediss:\/\/ \(TLS\)$/);
    expect(() => redisConnectionOptions('redis://:secret@h', Buffer.from('x'))).toThrow(/--redis-ca is for TLS/);
    expect(() => redisConnectionOptions('redis://:secret@h/x')).toThrow(/database/);
    expect(redactedUrl('rediss://user:secret@h:1/0')).toBe('rediss://user:***@h:1/0');
    expect(redactedUrl('not a url:secret@h')).not.toContain('secret');
  });
});

import { describe, expect, it } from 'vitest';
import { redactedUrl, redisConnectionOptions } from './redis-url';

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
    expect(() => redisConnectionOptions('http://:secret@h')).toThrow(/^--redis http:\/\/:\*\*\*@h\/ must start with redis:\/\/, rediss:\/\/ \(TLS\) or redis\+sentinel:\/\/$/);
    expect(() => redisConnectionOptions('redis://:secret@h', Buffer.from('x'))).toThrow(/--redis-ca is for TLS/);
    expect(() => redisConnectionOptions('redis://:secret@h/x')).toThrow(/database/);
    expect(redactedUrl('rediss://user:secret@h:1/0')).toBe('rediss://user:***@h:1/0');
    expect(redactedUrl('not a url:secret@h')).not.toContain('secret');
  });
});

describe('--redis sentinel URLs', () => {
  it('redis+sentinel:// lists the sentinels and names the master; the password is the data nodes\'', () => {
    expect(redisConnectionOptions('redis+sentinel://:p%40ss@127.0.0.1:26379,10.0.0.2:26380,[::1]:26381,sentinel.internal/mymaster/2')).toMatchObject({
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26380 },
        { host: '::1', port: 26381 },
        { host: 'sentinel.internal', port: 26379 },
      ],
      name: 'mymaster',
      password: 'p@ss',
      username: undefined,
      db: 2,
    });
    const plain = redisConnectionOptions('redis+sentinel://127.0.0.1:26379/mymaster');
    expect(plain).toMatchObject({ name: 'mymaster', db: 0, password: undefined });
    expect(plain).not.toHaveProperty('host');
    expect(plain).not.toHaveProperty('tls');
    expect(plain).not.toHaveProperty('sentinelPassword');
    // Every connection keeps retrying, through the sentinels, so a failover is followed.
    expect(plain.retryStrategy!(100)).toBe(2000);
    expect(plain.sentinelRetryStrategy!(100)).toBe(2000);
    expect(plain.sentinelCommandTimeout).toBe(2000);
  });

  it('the sentinels\' own password as a parameter, and TLS to the sentinels and the data nodes with rediss+sentinel://', () => {
    expect(redisConnectionOptions('redis+sentinel://:se@cret@h:1/m')).toMatchObject({ password: 'se@cret', sentinels: [{ host: 'h', port: 1 }] });
    expect(redisConnectionOptions('redis+sentinel://user:pw@h:1/m?sentinelPassword=s%26cret')).toMatchObject({ username: 'user', password: 'pw', sentinelPassword: 's&cret' });
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----');
    expect(redisConnectionOptions('rediss+sentinel://h:1/m', ca)).toMatchObject({ tls: { ca }, sentinelTLS: { ca }, enableTLSForSentinelMode: true });
    expect(redisConnectionOptions('rediss+sentinel://h:1/m')).toMatchObject({ tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true });
  });

  it.each([
    ['no master name', 'redis+sentinel://:secret@h:26379', /no master name after the sentinels/],
    ['an empty master name', 'redis+sentinel://:secret@h:26379/', /no master name after the sentinels/],
    ['no sentinels', 'redis+sentinel://:secret@/mymaster', /no sentinels; list them as host:port,host:port/],
    ['a port that is not a number', 'redis+sentinel://:secret@h:26379,h:x/mymaster', /"h:x" is not a sentinel host:port/],
    ['a port out of range', 'redis+sentinel://:secret@h:65536/mymaster', /"h:65536" is not a sentinel host:port/],
    ['port 0', 'redis+sentinel://:secret@h:0/mymaster', /"h:0" is not a sentinel host:port/],
    ['an empty port', 'redis+sentinel://:secret@h:/mymaster', /"h:" is not a sentinel host:port/],
    ['an empty entry in the list', 'redis+sentinel://:secret@h:1,,h:2/mymaster', /"" is not a sentinel host:port/],
    ['a database that is not a number', 'redis+sentinel://:secret@h:1/mymaster/x', /database after the master name/],
    ['more after the database', 'redis+sentinel://:secret@h:1/mymaster/0/1', /is not a sentinel URL/],
    ['an unknown parameter', 'redis+sentinel://:secret@h:1/mymaster?sentinelPasword=secret', /unknown parameter "sentinelPasword"/],
    ['a CA without TLS', 'redis+sentinel://:secret@h:1/mymaster', /--redis-ca is for TLS: use rediss\+sentinel:\/\//, Buffer.from('x')],
  ])('refuses %s in one line, never printing a password', (_what, url, problem, ca?: Buffer) => {
    let message = '';
    try {
      redisConnectionOptions(url, ca);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(problem);
    expect(message).not.toContain('\n');
    expect(message).not.toMatch(/secret|cret/);
  });

  it('shows sentinel URLs with both passwords as ***', () => {
    expect(redactedUrl('redis+sentinel://user:secret@h:1,h:2/mymaster/0')).toBe('redis+sentinel://user:***@h:1,h:2/mymaster/0');
    expect(redactedUrl('redis+sentinel://h:1/m?sentinelPassword=secret')).toBe('redis+sentinel://h:1/m?sentinelPassword=***');
    expect(redactedUrl('redis+sentinel://:se@cret@h:1/m')).toBe('redis+sentinel://:***@h:1/m');
    expect(redactedUrl('redis+sentinel://h:1,h:2/mymaster')).toBe('redis+sentinel://h:1,h:2/mymaster');
  });
});

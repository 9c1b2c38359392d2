import { describe, expect, it } from 'vitest';
import { reachedWithoutMqtt, unresolvedHost, wrongPortWords } from './connect-cause';

// The words for every scheme against every kind of server; e2e/connect-causes.test.ts meets the real servers.
describe('wrongPortWords', () => {
  it.each([
    ['mqtt://h:8080', { tls: false, speaks: 'http' }, "it is an HTTP server (mqlive's viewer port?), not MQTT over TCP: use ws://h:8080/mqtt, or mqtt:// with the broker's MQTT port (default 1883)"],
    ['mqtt://h:8443', { tls: true, speaks: 'http' }, "it is an HTTPS server (mqlive's viewer port?), not MQTT over TCP: use wss://h:8443/mqtt, or mqtts:// with the broker's MQTT over TLS port (default 8883)"],
    ['mqtts://h:8080', { tls: false, speaks: 'http' }, "it is an HTTP server (mqlive's viewer port?), not MQTT over TLS: use ws://h:8080/mqtt, or mqtt:// with the broker's MQTT port (default 1883)"],
    ['mqtts://h:1883', { tls: false, speaks: 'mqtt' }, 'it does not speak TLS: use mqtt://h:1883'],
    ['wss://h:8080/mqtt', { tls: false, speaks: 'http' }, 'it does not speak TLS: use ws://h:8080/mqtt'],
    ['wss://h:1883/mqtt', { tls: false, speaks: 'mqtt' }, 'it is MQTT over TCP, not MQTT over secure WebSocket: use mqtt://h:1883'],
    ['ws://h:8883', { tls: true, speaks: 'other' }, 'it speaks TLS: use wss://h:8883/mqtt'],
    ['mqtt://h:9999', { tls: true, speaks: 'other' }, 'it speaks TLS: use mqtts://h:9999'],
  ] as const)('%s at %o', (url, kind, words) => {
    expect(wrongPortWords(url, kind)).toBe(words);
  });

  it.each([
    ['mqtt://h:1883', { tls: false, speaks: 'mqtt' }],
    ['ws://h:8080/mqt', { tls: false, speaks: 'http' }], // the wrong path has its own line (the publisher's)
    ['wss://h:8443/mqtt', { tls: true, speaks: 'http' }],
    ['mqtts://h:8883', { tls: true, speaks: 'mqtt' }],
    ['mqtt://h:1', { tls: false, speaks: 'other' }],
  ] as const)('nothing to say for %s at %o', (url, kind) => {
    expect(wrongPortWords(url, kind)).toBeNull();
  });
});

describe('what is probed and what is said of a name', () => {
  const error = (code: unknown) => Object.assign(new Error('x'), { code });
  it('no connection, or a CONNACK, is not probed; a close without an error or a parse error is', () => {
    expect([undefined, error(undefined), error('ECONNRESET')].map(reachedWithoutMqtt)).toEqual([true, true, true]);
    expect([error('ECONNREFUSED'), error('ENOTFOUND'), error(5)].map(reachedWithoutMqtt)).toEqual([false, false, false]);
  });
  it('a host that does not resolve, now or at all', () => {
    expect(unresolvedHost(error('ENOTFOUND'), 'mqtt://pi.lan:1883')).toBe('cannot resolve host pi.lan: check the host name');
    expect(unresolvedHost(error('EAI_AGAIN'), 'ws://pi.lan/mqtt')).toBe('cannot resolve host pi.lan now: the name server does not answer');
    expect(unresolvedHost(error('ECONNREFUSED'), 'mqtt://pi.lan')).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { brokerIdentity, brokerProblem, brokerUrl, isPageOrigin } from './broker-url';

const page = { protocol: 'http:', host: '127.0.0.1:8080', search: '' };

describe('brokerUrl', () => {
  it("uses the page's origin, or a ws:// or wss:// ?broker=", () => {
    expect(brokerUrl(page)).toEqual({ url: 'ws://127.0.0.1:8080/mqtt', problem: null });
    expect(brokerUrl({ ...page, protocol: 'https:' }).url).toBe('wss://127.0.0.1:8080/mqtt');
    expect(brokerUrl({ ...page, search: '?broker=wss://b.example/mqtt' })).toEqual({ url: 'wss://b.example/mqtt', problem: null });
  });

  it('names the problem with a ?broker= it cannot use, and the address to use instead', () => {
    expect(brokerUrl({ ...page, search: '?broker=not-a-url' }).problem).toMatch(/^\?broker=not-a-url is not a URL: .*ws:\/\/host:8080\/mqtt/);
    expect(brokerUrl({ ...page, search: '?broker=http://b:9001/mqtt' }).problem).toMatch(/needs \?broker=ws:\/\/b:9001\/mqtt$/);
    expect(brokerUrl({ ...page, search: '?broker=mqtt://b:1883' }).problem).toMatch(/is not a WebSocket address/);
    // The connection form says the same of an address typed in it.
    expect(brokerProblem('http://b:9001', '')).toBe('http://b:9001 is a web page address; MQTT over WebSocket needs ws://b:9001/mqtt');
    expect(brokerProblem('ws://b:9001/mqtt', '')).toBeNull();
  });

  it("tells the page's own broker from any other", () => {
    expect(isPageOrigin('ws://127.0.0.1:8080/mqtt', page)).toBe(true);
    expect(isPageOrigin('wss://127.0.0.1:8080/mqtt', page)).toBe(false);
    expect(isPageOrigin('ws://127.0.0.1:28099/mqtt', page)).toBe(false);
    expect(isPageOrigin('ws://localhost:8080/mqtt', page)).toBe(false);
  });
});

describe('brokerIdentity', () => {
  it('is the same for one broker written differently, and differs for another host, port, scheme or path', () => {
    const id = brokerIdentity('ws://b.example:9001/mqtt');
    expect(brokerIdentity(' WS://B.example:9001/mqtt ')).toBe(id);
    expect(brokerIdentity('ws://b.example:9001/mqtt?x=1')).toBe(id);
    for (const other of ['ws://c.example:9001/mqtt', 'ws://b.example:9002/mqtt', 'wss://b.example:9001/mqtt', 'ws://b.example:9001/other', 'ws://b.example.evil:9001/mqtt'])
      expect(brokerIdentity(other), other).not.toBe(id);
    expect(brokerIdentity('ws://b.example:80/mqtt')).toBe(brokerIdentity('ws://b.example/mqtt'));
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import { checkDecoded, checkMessage, CONTRACT, deliveryFor, encodePayload, MAX_CONTRACT_JSON_DEPTH, parseTopic, type PayloadFor } from './contract';
import type { ClickEvent, DeviceMeta, MoveEvent } from './payloads';

const bytes = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => bytes(JSON.stringify(v));

const goodMeta: DeviceMeta = {
  name: 'laptop',
  kind: 'mouse',
  source: 'demo',
  screen: { width: 1920, height: 1080 },
  host: 'laptop',
  version: '0.1.0',
  schema: 1,
  startedAt: 1_700_000_000_000,
};

describe('checkDecoded', () => {
  it('gives the verdict checkMessage gives, on a payload decoded by the caller', () => {
    const cases: [string, Uint8Array][] = [
      ['devices/d/mouse/move', json({ x: 1, y: 2, ts: 3, seq: 4 })],
      ['devices/d/mouse/move', json({ x: 1 })],
      ['devices/d/mouse/move', bytes('{not json')],
      ['devices/d/status', bytes('offline')],
      ['devices/d/status', bytes('gone')],
      ['devices/d/status', new Uint8Array([0xff, 0xfe])],
      ['devices/bad.id/status', bytes('online')],
      ['clients/v1/messages', json({ text: 'hi', ts: 1 })],
      ['home/temperature', bytes('21')],
    ];
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    for (const [topic, payload] of cases) {
      let text: string | null = null;
      let value: unknown = undefined;
      try {
        text = utf8.decode(payload);
        value = JSON.parse(text);
      } catch {
        // not UTF-8, or not JSON
      }
      const decoded = checkDecoded(topic, text, value);
      const checked = checkMessage(topic, payload);
      expect({ ok: decoded.ok, topic: decoded.topic }, topic).toEqual({ ok: checked.ok, topic: checked.topic });
      if (checked.ok && checked.topic) expect(decoded).toEqual(checked);
    }
  });
});

describe('checkMessage', () => {
  it('passes valid payloads on every contract topic and decodes them', () => {
    const move: MoveEvent = { x: 1, y: -2, ts: 5, seq: 0 };
    expect(checkMessage('devices/d/mouse/move', json(move))).toMatchObject({ ok: true, payload: move });
    expect(checkMessage('devices/d/status', bytes('offline'))).toMatchObject({ ok: true, payload: 'offline' });
    expect(checkMessage('devices/d/meta', json(goodMeta)).ok).toBe(true);
    expect(checkMessage('clients/v/messages', json({ text: 'hi', ts: 1 })).ok).toBe(true);
  });

  it('passes any payload on a free-form topic, as bytes', () => {
    const raw = new Uint8Array([0xff, 0x00, 0x7b]);
    expect(checkMessage('devices/pi/temperature/celsius', raw)).toEqual({ ok: true, topic: null, payload: raw });
  });

  it('refuses bad payloads with a reason', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['devices/d/mouse/move', bytes('{'), /not valid JSON/],
      ['devices/d/mouse/move', new Uint8Array([0xc3, 0x28]), /UTF-8/],
      ['devices/d/mouse/move', json({ x: 1, y: 2, ts: 3 }), /missing field "seq"/],
      ['devices/d/status', bytes('ONLINE'), /"online" or "offline"/],
      ['devices/d/meta', json({ ...goodMeta, schema: 2 }), /"schema" must be 1/],
      ['clients/v/messages', json({ text: '', ts: 1 }), /must not be empty/],
      ['devices/a.b/status', bytes('online'), /topic devices\/a\.b\/status: .*'\.'/],
      ['clients/x+y/messages', json({ text: 'hi', ts: 1 }), /wildcard/],
    ];
    for (const [topic, payload, reason] of cases) {
      const result = checkMessage(topic, payload);
      expect(result.ok, topic).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
    }
  });

  it('takes an empty payload on a retained topic (status, meta) as clearing it, and nowhere else', () => {
    expect(checkMessage('devices/d/status', bytes(''))).toEqual({ ok: true, topic: { kind: 'status', device: 'd' }, payload: null, cleared: true });
    expect(checkMessage('devices/d/meta', bytes(''))).toMatchObject({ ok: true, cleared: true });
    for (const topic of ['devices/d/mouse/move', 'devices/d/mouse/click', 'clients/c/messages']) expect(checkMessage(topic, bytes('')).ok, topic).toBe(false);
    expect(checkMessage('devices/a.b/status', bytes('')).ok).toBe(false); // the id is still checked
  });

  it('never throws on random bytes', () => {
    const topics = ['devices/d/mouse/move', 'devices/d/mouse/click', 'devices/d/mouse/scroll', 'devices/d/meta', 'devices/d/status', 'clients/c/messages'];
    for (let i = 0; i < 3000; i++) {
      const payload = new Uint8Array(Math.floor(Math.random() * 40)).map(() => Math.floor(Math.random() * 256));
      const result = checkMessage(topics[i % topics.length]!, payload);
      expect(typeof result.ok).toBe('boolean');
    }
  });
});

describe('deliveryFor', () => {
  it('gives each topic its contract QoS and retain flag', () => {
    expect(deliveryFor('devices/d/mouse/move')).toEqual({ qos: 0, retain: false });
    expect(deliveryFor('devices/d/mouse/click')).toEqual({ qos: 1, retain: false });
    expect(deliveryFor('devices/d/mouse/scroll')).toEqual({ qos: 1, retain: false });
    expect(deliveryFor('devices/d/status')).toEqual({ qos: 1, retain: true });
    expect(deliveryFor('devices/d/meta')).toEqual({ qos: 1, retain: true });
    expect(deliveryFor('clients/c/messages')).toEqual({ qos: 1, retain: false });
    expect(deliveryFor('devices/pi/temperature/celsius')).toBeNull();
  });

  it('has one rule per contract topic, each parsing back to its own pattern', () => {
    expect(Object.keys(CONTRACT).sort()).toEqual(
      ['clients/+/messages', 'devices/+/meta', 'devices/+/mouse/click', 'devices/+/mouse/move', 'devices/+/mouse/scroll', 'devices/+/status'],
    );
    for (const pattern of Object.keys(CONTRACT)) expect(parseTopic(pattern.replace('+', 'x')), pattern).not.toBeNull();
  });
});

describe('typed topic map', () => {
  it('ties each topic to its payload type', () => {
    expectTypeOf<PayloadFor<'devices/laptop/mouse/click'>>().toEqualTypeOf<ClickEvent>();
    expectTypeOf<PayloadFor<'devices/laptop/status'>>().toEqualTypeOf<'online' | 'offline'>();
    expectTypeOf<PayloadFor<'devices/pi/temperature/celsius'>>().toEqualTypeOf<string | Uint8Array>();
    // @ts-expect-error a move payload is not a click
    encodePayload('devices/laptop/mouse/click', { x: 1, y: 2, ts: 0, seq: 0 });
    expect(encodePayload('devices/laptop/status', 'online')).toBe('online');
    expect(encodePayload('devices/laptop/mouse/move', { x: 1, y: 2, ts: 3, seq: 4 })).toBe('{"x":1,"y":2,"ts":3,"seq":4}');
  });
});

describe('checkMessage on hostile JSON', () => {
  const nested = (depth: number) => new TextEncoder().encode(`{"text":${'['.repeat(depth)}${']'.repeat(depth)},"ts":1}`);
  it('refuses a payload nested deeper than the contract allows before parsing it, on every JSON topic', () => {
    for (const topic of ['clients/v1/messages', 'devices/d/mouse/click', 'devices/d/mouse/move', 'devices/d/meta']) {
      const result = checkMessage(topic, nested(30_000));
      expect(result.ok).toBe(false);
      expect(!result.ok && result.reason).toMatch(new RegExp(`nested deeper than ${MAX_CONTRACT_JSON_DEPTH} levels`));
    }
  });
  it('takes nesting up to the limit (extra fields may be objects) and counts brackets inside strings as text', () => {
    const within = `{"text":"hi","ts":1,"extra":${'['.repeat(MAX_CONTRACT_JSON_DEPTH - 1)}${']'.repeat(MAX_CONTRACT_JSON_DEPTH - 1)}}`;
    expect(checkMessage('clients/v1/messages', new TextEncoder().encode(within)).ok).toBe(true);
    const over = `{"text":"hi","ts":1,"extra":${'['.repeat(MAX_CONTRACT_JSON_DEPTH)}${']'.repeat(MAX_CONTRACT_JSON_DEPTH)}}`;
    expect(checkMessage('clients/v1/messages', new TextEncoder().encode(over)).ok).toBe(false);
    const inText = `{"text":"${'[{'.repeat(400)}\\"${'['.repeat(10)}","ts":1}`;
    expect(checkMessage('clients/v1/messages', new TextEncoder().encode(inText)).ok).toBe(true);
  });
});

import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  checkDecoded,
  checkMessage,
  CONTRACT,
  deliveryFor,
  encodePayload,
  isOfKind,
  MAX_CONTRACT_JSON_DEPTH,
  parseTopic,
  type ContractMessage,
  type ContractMessageOn,
  type ContractTopic,
  type PayloadFor,
} from './contract';
import type { ClickEvent, ClientMessage, DeviceMeta, DeviceStatus, MoveEvent, ScrollEvent } from './payloads';

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
    expect(checkMessage('devices/pi/temperature/celsius', raw)).toEqual({ ok: true, pattern: null, topic: null, payload: raw });
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
    expect(checkMessage('devices/d/status', bytes(''))).toEqual({ ok: true, pattern: 'devices/+/status', topic: { kind: 'status', device: 'd' }, payload: null, cleared: true });
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

// Checked by `tsc -p .` (npm run typecheck), not at run time: each `@ts-expect-error` fails the type check if the
// line under it compiles, so these say what does not compile.
describe('typed accepted messages', () => {
  it('an accepted message’s pattern decides its payload type, one per contract row, read off the table', () => {
    expectTypeOf<ContractMessageOn<'devices/+/mouse/move'>['payload']>().toEqualTypeOf<MoveEvent>();
    expectTypeOf<ContractMessageOn<'devices/+/mouse/click'>['payload']>().toEqualTypeOf<ClickEvent>();
    expectTypeOf<ContractMessageOn<'devices/+/mouse/scroll'>['payload']>().toEqualTypeOf<ScrollEvent>();
    expectTypeOf<ContractMessageOn<'clients/+/messages'>['payload']>().toEqualTypeOf<ClientMessage>();
    // Retained rows may also be cleared (payload null); others may not.
    expectTypeOf<ContractMessageOn<'devices/+/status'>['payload']>().toEqualTypeOf<DeviceStatus | null>();
    expectTypeOf<ContractMessageOn<'devices/+/meta'>['payload']>().toEqualTypeOf<DeviceMeta | null>();
    expectTypeOf<Extract<ContractMessage, { cleared: true }>['topic']['kind']>().toEqualTypeOf<'status' | 'meta'>();
    expectTypeOf<ContractMessage['pattern']>().toEqualTypeOf<keyof typeof CONTRACT>();
    expectTypeOf<ContractTopic['kind']>().toEqualTypeOf<'mouse' | 'status' | 'meta' | 'clientMessage'>();

    const move = { x: 1, y: 2, ts: 3, seq: 4 };
    // @ts-expect-error a move's payload on a click: a click needs `button` and `pressed`
    const moveAsClick: ContractMessage = { ok: true, pattern: 'devices/+/mouse/click', topic: { kind: 'mouse', device: 'd', event: 'click' }, payload: move };
    // @ts-expect-error a status is "online" or "offline", not any text
    const loudStatus: ContractMessage = { ok: true, pattern: 'devices/+/status', topic: { kind: 'status', device: 'd' }, payload: 'ONLINE' };
    // @ts-expect-error a move's pattern with a click's topic
    const crossed: ContractMessage = { ok: true, pattern: 'devices/+/mouse/move', topic: { kind: 'mouse', device: 'd', event: 'click' }, payload: move };
    // @ts-expect-error a move is not retained, so it is never a clear
    const clearedMove: ContractMessage = { ok: true, pattern: 'devices/+/mouse/move', topic: { kind: 'mouse', device: 'd', event: 'move' }, payload: null, cleared: true };
    const fine: ContractMessage = { ok: true, pattern: 'devices/+/status', topic: { kind: 'status', device: 'd' }, payload: null, cleared: true };
    expect([moveAsClick, loudStatus, crossed, clearedMove, fine]).toHaveLength(5);
  });

  it('a switch on the pattern narrows the payload, and one that forgets a row does not compile', () => {
    const say = (m: ContractMessage): string => {
      switch (m.pattern) {
        case 'devices/+/mouse/move':
          return `move ${m.payload.x}`;
        case 'devices/+/mouse/click':
          return `click ${m.payload.button}`;
        case 'devices/+/mouse/scroll':
          return `scroll ${m.payload.dy}`;
        case 'devices/+/status':
          return `status ${m.cleared ? 'cleared' : m.payload}`;
        case 'devices/+/meta':
          return `meta ${m.cleared ? 'cleared' : m.payload.name}`;
        case 'clients/+/messages':
          return `message ${m.payload.text}`;
      }
    };
    // @ts-expect-error not every path returns: the reply row (clients/+/messages) is forgotten
    const forgetful = (m: ContractMessage): string => {
      // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the forgotten row is the point (ESLint flags it too)
      switch (m.pattern) {
        case 'devices/+/mouse/move':
        case 'devices/+/mouse/click':
        case 'devices/+/mouse/scroll':
          return `mouse ${m.payload.x}`;
        case 'devices/+/status':
        case 'devices/+/meta':
          return m.topic.device;
      }
    };
    const said = (topic: string, payload: unknown) => {
      const m = checkMessage(topic, json(payload));
      if (!m.ok || m.pattern === null) throw new Error(`not an accepted contract message: ${topic}`);
      return say(m);
    };
    expect(said('devices/d/mouse/click', { x: 1, y: 2, button: 'left', pressed: true, ts: 1, seq: 0 })).toBe('click left');
    expect(said('devices/d/meta', goodMeta)).toBe('meta laptop');
    expect(say(checkMessage('devices/d/status', bytes('')) as ContractMessage)).toBe('status cleared');
    expect(said('clients/v/messages', { text: 'hi', ts: 1 })).toBe('message hi');
    expect(typeof forgetful).toBe('function');
  });

  it('isOfKind narrows a message by its topic’s kind, which a test of topic.kind alone does not', () => {
    const m = checkMessage('devices/d/mouse/scroll', json({ x: 1, y: 2, dx: 0, dy: -1, ts: 1, seq: 0 }));
    if (!m.ok) throw new Error(m.reason);
    if (m.topic?.kind === 'mouse') {
      // @ts-expect-error `topic.kind` narrows the topic only: the payload may still be anything
      expect(m.payload.x).toBe(1);
    }
    expect(isOfKind(m, 'mouse')).toBe(true);
    expect(isOfKind(m, 'status')).toBe(false);
    if (isOfKind(m, 'mouse')) expectTypeOf(m.payload).toEqualTypeOf<MoveEvent | ClickEvent | ScrollEvent>();
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

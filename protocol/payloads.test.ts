import { describe, expect, it } from 'vitest';
import {
  validateClick,
  validateClientMessage,
  validateMeta,
  validateMove,
  validateScroll,
  validateStatus,
} from './payloads';

const meta = {
  name: 'laptop',
  kind: 'mouse',
  source: 'uiohook',
  screen: { width: 1920, height: 1080 },
  host: 'laptop',
  version: '0.1.0',
  schema: 1,
  startedAt: 1,
};

describe('event validators', () => {
  it('accept contract payloads, extra fields included', () => {
    expect(validateMove({ x: 0, y: 0, ts: 0, seq: 0 })).toBeNull();
    expect(validateMove({ x: -1920, y: 5, ts: 1, seq: 9, extra: 'ok' })).toBeNull();
    for (const button of ['left', 'right', 'middle', 'back', 'forward']) {
      expect(validateClick({ x: 1, y: 2, button, pressed: false, ts: 1, seq: 1 })).toBeNull();
    }
    expect(validateScroll({ x: 1, y: 2, dx: 0, dy: -1, ts: 1, seq: 2 })).toBeNull();
  });

  it('name the first wrong field', () => {
    expect(validateMove(null)).toBe('payload must be a JSON object');
    expect(validateMove([1, 2])).toBe('payload must be a JSON object');
    expect(validateMove({ x: 1.5, y: 0, ts: 0, seq: 0 })).toMatch(/"x" must be an integer \(got 1.5\)/);
    expect(validateMove({ x: 1, y: '2', ts: 0, seq: 0 })).toMatch(/"y" must be an integer/);
    expect(validateMove({ x: 1, y: 2, ts: -1, seq: 0 })).toMatch(/"ts" must be at least 0/);
    expect(validateMove({ x: 1, y: 2, ts: 0 })).toMatch(/missing field "seq"/);
    expect(validateClick({ x: 1, y: 2, button: 'wheel', pressed: true, ts: 0, seq: 0 })).toMatch(/"button" must be one of left, right/);
    expect(validateClick({ x: 1, y: 2, button: 'left', pressed: 1, ts: 0, seq: 0 })).toMatch(/"pressed" must be true or false/);
    expect(validateScroll({ x: 1, y: 2, dx: 0, ts: 0, seq: 0 })).toMatch(/missing field "dy"/);
  });

  it('survive random values without throwing', () => {
    const values = [undefined, null, 0, -1, 1.5, NaN, Infinity, '', 'x', true, [], {}, { x: {} }];
    const pick = () => values[Math.floor(Math.random() * values.length)];
    for (let i = 0; i < 2000; i++) {
      const v = { x: pick(), y: pick(), dx: pick(), dy: pick(), button: pick(), pressed: pick(), ts: pick(), seq: pick() };
      for (const validate of [validateMove, validateClick, validateScroll, validateMeta, validateClientMessage]) {
        const reason = validate(v);
        expect(reason === null || typeof reason === 'string').toBe(true);
      }
    }
  });
});

describe('status, meta and client messages', () => {
  it('status is plain online or offline', () => {
    expect(validateStatus('online')).toBeNull();
    expect(validateStatus('offline')).toBeNull();
    expect(validateStatus('Online')).toMatch(/plain text/);
    expect(validateStatus('"online"')).toMatch(/plain text/);
  });

  it('meta follows the contract', () => {
    expect(validateMeta(meta)).toBeNull();
    expect(validateMeta({ ...meta, screen: null, source: 'demo' })).toBeNull();
    expect(validateMeta({ ...meta, kind: 'system', source: 'os' })).toBeNull(); // another publisher's device
    expect(validateMeta({ ...meta, kind: '' })).toMatch(/"kind" must be a string of 1 to 64 characters/);
    expect(validateMeta({ ...meta, source: 7 })).toMatch(/"source"/);
    expect(validateMeta({ ...meta, screen: { width: 0, height: 1 } })).toMatch(/"width" must be at least 1/);
    expect(validateMeta({ ...meta, screen: 'big' })).toMatch(/"screen"/);
    expect(validateMeta({ ...meta, startedAt: undefined })).toMatch(/missing field "startedAt"/);
  });

  it('client messages carry 1 to 1000 characters of text', () => {
    expect(validateClientMessage({ text: 'hi', ts: 1 })).toBeNull();
    expect(validateClientMessage({ text: '😀'.repeat(1000), ts: 1 })).toBeNull();
    expect(validateClientMessage({ text: 'x'.repeat(1001), ts: 1 })).toMatch(/at most 1000 characters \(got 1001\)/);
    expect(validateClientMessage({ text: '', ts: 1 })).toMatch(/empty/);
    expect(validateClientMessage({ text: 5, ts: 1 })).toMatch(/"text" must be a string/);
    expect(validateClientMessage({ text: 'hi' })).toMatch(/missing field "ts"/);
  });
});

/** `{"text":` + N `[` + N `]` + `}` as a value: nested N arrays deep. */
function deeplyNested(depth: number): unknown {
  return JSON.parse('['.repeat(depth) + ']'.repeat(depth));
}

describe('a refused value is never serialized into the reason', () => {
  const deep = deeplyNested(30_000);
  it('gives a reason, and does not throw, for a deeply nested value in any field', () => {
    expect(validateClientMessage({ text: deep, ts: 1 })).toMatch(/"text" must be a string \(got an array\)/);
    expect(validateMove({ x: deep, y: 0, ts: 0, seq: 0 })).toMatch(/"x" must be an integer \(got an array\)/);
    expect(validateClick({ x: 1, y: 2, button: deep, pressed: true, ts: 1, seq: 1 })).toMatch(/"button" must be one of/);
    expect(validateClick({ x: 1, y: 2, button: 'left', pressed: deep, ts: 1, seq: 1 })).toMatch(/"pressed" must be true or false/);
    expect(validateMeta({ ...meta, kind: deep })).toMatch(/"kind" must be a string of 1 to 64 characters/);
    expect(validateMeta({ ...meta, schema: deep })).toMatch(/"schema" must be 1/);
    expect(validateMeta({ ...meta, screen: { width: deep, height: 1 } })).toMatch(/"width" must be an integer/);
    expect(validateStatus(deep)).toMatch(/status must be/);
  });

  it('quotes a short string in full and a long one cut, so a reason stays one short line', () => {
    expect(validateClick({ x: 1, y: 2, button: 'thumb', pressed: true, ts: 1, seq: 1 })).toContain('(got "thumb")');
    const reason = validateClick({ x: 1, y: 2, button: 'b'.repeat(10_000), pressed: true, ts: 1, seq: 1 })!;
    expect(reason.length).toBeLessThan(200);
    expect(reason).toContain('…');
  });
});

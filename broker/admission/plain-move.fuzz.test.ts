import type { PublishPacket } from 'aedes';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { checkMessage, idProblem } from '../../protocol';
import { fuzz } from '../../test-support/fuzz';
import { contract, fullContract } from './contract';
import { isPlainValidMove } from './plain-move';

// Fuzz target: the plain-move shortcut (plain-move.ts) is held equal to the full contract check. Moves written
// every way JSON allows (any key order, extra fields, spaces, numbers of any size and form, strings) on move
// topics with good and bad ids: the shortcut-first verdict is always the full check's, and the shortcut never
// accepts what the full check refuses.
const limits = { maxContractPayloadBytes: 4096 };
const publish = (topic: string, payload: Buffer) => ({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }) as PublishPacket;

const numberText = fc.oneof(
  fc.integer().map(String),
  fc.maxSafeInteger().map(String),
  fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom('-0', '0.0', '1e3', '1E2', '+1', '01', '1.', '.5', '-', '""', '"1"', 'null', 'true', '[]', '{}'),
);
const key = fc.oneof(fc.constantFrom('x', 'y', 'ts', 'seq', 'z', 'extra_1', '__proto__'), fc.string({ maxLength: 40 }));
const space = fc.constantFrom('', '', '', ' ', '\n', '\t');

const movePayload = fc
  .tuple(
    fc.record({ x: numberText, y: numberText, ts: numberText, seq: numberText }),
    fc.array(fc.tuple(key, numberText), { maxLength: 5 }),
    fc.boolean(),
    space,
  )
  .chain(([fields, extra, dropOne, ws]) => {
    const entries = [...Object.entries(fields), ...extra];
    return fc.shuffledSubarray(entries, { minLength: dropOne ? Math.max(0, entries.length - 1) : entries.length }).map((chosen) => `{${chosen.map(([k, v]) => `${JSON.stringify(k)}:${ws}${v}`).join(`,${ws}`)}}`);
  });

const moveTopic = fc.oneof(
  { arbitrary: fc.constant('devices/d/mouse/move'), weight: 4 },
  fc.string({ maxLength: 70 }).map((id) => `devices/${id}/mouse/move`),
  fc.constantFrom('devices/d/mouse/click', 'devices/d/mouse/move/x', 'devices//mouse/move'),
);

describe('the plain move shortcut (fuzz)', () => {
  fuzz(
    'moves written every way JSON allows: the shortcut-first verdict is the full check’s',
    fc.tuple(moveTopic, movePayload),
    ([topic, text]) => {
      const payload = Buffer.from(text);
      expect(contract(publish(topic, payload), limits)).toEqual(fullContract(publish(topic, payload), payload, limits));
      if (isPlainValidMove(topic, payload)) expect(checkMessage(topic, payload).ok).toBe(true);
    },
    1000,
  );
});

// The shape mqlive's publisher and the bench send, drawn with values in and out of range: flat, no spaces, the
// four fields once each, integers of at most 15 digits, extra fields with any JSON number. On this shape the
// shortcut is not only never wrong but never unsure: it says "valid" exactly when the full check does, so
// the common message never takes the slow way (and a rule changed on one side only shows here).
const plainInteger = fc.oneof(fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }), fc.integer({ min: -3, max: 3 }));
const plainKey = fc.stringMatching(/^[A-Za-z0-9_]{1,32}$/).filter((k) => !['x', 'y', 'ts', 'seq'].includes(k));
const plainMove = fc
  .tuple(
    fc.record({ x: plainInteger, y: plainInteger, ts: plainInteger, seq: plainInteger }),
    fc.uniqueArray(fc.tuple(plainKey, fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }))), { maxLength: 4, selector: ([k]) => k }),
    fc.constantFrom<(keyof MoveFields | null)[]>([null], ['x'], ['seq']),
  )
  .chain(([fields, extra, [dropped]]) => {
    const entries: [string, number][] = [...Object.entries(fields).filter(([k]) => k !== dropped), ...extra];
    return fc.shuffledSubarray(entries, { minLength: entries.length }).map((all) => `{${all.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`);
  });
type MoveFields = { x: number; y: number; ts: number; seq: number };
const ID_CHARS = [...'abcXYZ019_-'];
const anyId = fc.oneof(
  // Every length from empty to past the limit of 64 as likely as any other, so the edges are drawn.
  fc.integer({ min: 0, max: 66 }).chain((n) => fc.array(fc.constantFrom(...ID_CHARS), { minLength: n, maxLength: n }).map((chars) => chars.join(''))),
  fc.string({ maxLength: 70 }),
  fc.constantFrom('d', 'a.b', 'a/b', '+', '#', 'é'),
);

describe('the plain move shortcut on the plain shape (property)', () => {
  fuzz(
    'a plain move on any id: the shortcut says valid exactly when the full check does',
    fc.tuple(anyId, plainMove),
    ([id, text]) => {
      const topic = `devices/${id}/mouse/move`;
      const payload = Buffer.from(text);
      const full = checkMessage(topic, payload);
      expect(isPlainValidMove(topic, payload), `${topic} ${text}`).toBe(full.ok && full.pattern === 'devices/+/mouse/move');
    },
    1000,
  );

  fuzz(
    'the shortcut’s id rule is idProblem’s',
    anyId,
    (id) => {
      expect(isPlainValidMove(`devices/${id}/mouse/move`, Buffer.from('{"x":1,"y":2,"ts":3,"seq":4}')), id).toBe(idProblem(id) === null);
    },
    500,
  );
});

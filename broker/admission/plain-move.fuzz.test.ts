import type { PublishPacket } from 'aedes';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { checkMessage } from '../../protocol';
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

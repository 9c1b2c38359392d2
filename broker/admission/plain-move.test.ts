import type { PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../protocol';
import { contract, fullContract } from './contract';
import { isPlainValidMove } from './plain-move';

// The move shortcut may only ever say "valid" where the full check (UTF-8, JSON.parse, the validator) says so
// too: every input below, hostile or not, gets the same verdict from contract() as from the full check alone.

const TOPIC = 'devices/laptop-1/mouse/move';
const publish = (topic: string, payload: Buffer): PublishPacket => ({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }) as PublishPacket;
const limits = { maxContractPayloadBytes: 4096 };

const VALID = [
  '{"x":1,"y":2,"ts":1764124800000,"seq":0}', // mqlive's publisher
  '{"x":-5,"y":0,"ts":0,"seq":123456789012345}',
  '{"w":1,"x":17,"y":1079,"ts":1764124800000,"seq":42,"t":1234.567}', // the bench's, warm-up and measured
  '{"seq":3,"ts":9,"y":-1,"x":-999999999999999,"extra":-1.5e-7}',
];

const HOSTILE = [
  '{"x":1,"y":2,"ts":-1,"seq":0}', // ts below 0
  '{"x":1,"y":2,"ts":1,"seq":-0}', // accepted by the full check (-0 is not below 0), not by the shortcut
  '{"x":-0,"y":2,"ts":1,"seq":0}', // -0 parses to -0, which the full check accepts
  '{"x":1,"y":2,"ts":1,"seq":0,"x":"a"}', // a repeated field: JSON.parse keeps the last
  '{"x":"a","y":2,"ts":1,"seq":0,"x":1}',
  '{"x":1,"y":2,"ts":1,"seq":0,"y":2}',
  '{"x":1.0,"y":2,"ts":1,"seq":0}', // 1.0 is the integer 1 to JSON.parse
  '{"x":1.5,"y":2,"ts":1,"seq":0}',
  '{"x":1e3,"y":2,"ts":1,"seq":0}',
  '{"x":01,"y":2,"ts":1,"seq":0}',
  '{"x":9007199254740991,"y":2,"ts":1,"seq":0}', // the largest safe integer: 16 digits
  '{"x":9007199254740992,"y":2,"ts":1,"seq":0}',
  '{"x":1,"y":2,"ts":1}',
  '{"x":1,"y":2,"ts":1,"seq":0,}',
  '{"x":1,"y":2,"ts":1,"seq":0}}',
  '{"x":1,"y":2,"ts":1,"seq":0} ',
  ' {"x":1,"y":2,"ts":1,"seq":0}',
  '{"x": 1,"y":2,"ts":1,"seq":0}',
  '{"\\u0078":1,"y":2,"ts":1,"seq":0}', // x, escaped
  '{"x":1,"y":2,"ts":1,"seq":0,"s":"text"}',
  '{"x":1,"y":2,"ts":1,"seq":0,"n":null}',
  '{"x":1,"y":2,"ts":1,"seq":0,"o":{}}',
  '{"x":1,"y":2,"ts":1,"seq":0,"e":1e400}',
  '{"x":1,"y":2,"ts":1,"seq":0,"__proto__":1}',
  '{"x":1,"y":2,"ts":1,"seq":0,"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12}',
  '{"x":1,"y":2,"ts":1,"seq":0,"":1}',
  '{"x":1,"y":2,"ts":1,"seq":0,"ü":1}',
  '[1,2,3]',
  '{}',
  '',
  '{',
  '}',
  'null',
  '{"x":1,"y":2,"ts":1,"seq":0,"-":-}',
  '{"x":1,"y":2,"ts":1,"seq":0,"e":1.}',
  '{"x":1,"y":2,"ts":1,"seq":0,"e":1e}',
  '{"x":1,"y":2,"ts":1,"seq":0,"e":-}',
  '{"x":1,"y":2,"ts":1,"seq":0,"e":.5}',
  '{"x":1,"y":2,"ts":1,"seq":0,"e":+5}',
];

const TOPICS = [
  TOPIC,
  'devices/a/mouse/move',
  `devices/${'d'.repeat(64)}/mouse/move`,
  `devices/${'d'.repeat(65)}/mouse/move`, // id too long
  'devices//mouse/move',
  'devices/a.b/mouse/move',
  'devices/a/b/mouse/move',
  'devices/+/mouse/move',
  'devices/a/mouse/move/',
  'devices/a/mouse/click',
  'Devices/a/mouse/move',
  'devices/é/mouse/move',
  'home/a/mouse/move',
];

/** Every payload one edit away from `text`: each byte replaced by each of `alphabet`, deleted, or doubled. */
function oneEditAway(text: string, alphabet: number[]): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) {
    for (const c of alphabet) {
      const changed = Buffer.from(bytes);
      changed[i] = c;
      out.push(changed);
    }
    out.push(Buffer.concat([bytes.subarray(0, i), bytes.subarray(i + 1)]));
    out.push(Buffer.concat([bytes.subarray(0, i + 1), bytes.subarray(i)]));
  }
  return out;
}

const ALPHABET = [...'"\\ -+.0159eE,:{}[]xyst_n'].map((c) => c.charCodeAt(0)).concat([0x00, 0x7f, 0x80, 0xc3, 0xff]);

/** Same verdict from the shortcut-first contract as from the full check alone; the shortcut never accepts what the full check refuses. */
function sameVerdict(topic: string, payload: Buffer): void {
  const fast = contract(publish(topic, payload), limits);
  const full = fullContract(publish(topic, payload), payload, limits);
  expect(fast, `${topic} ${JSON.stringify(payload.toString('latin1'))}`).toEqual(full);
  if (isPlainValidMove(topic, payload)) expect(checkMessage(topic, payload).ok, `${topic} ${payload.toString('latin1')}`).toBe(true);
}

describe('the plain move shortcut', () => {
  it('recognises the moves mqlive and its bench send (so it is used)', () => {
    for (const payload of VALID) expect(isPlainValidMove(TOPIC, Buffer.from(payload)), payload).toBe(true);
  });

  it('gives every hostile payload, on every topic, the full check’s verdict', () => {
    for (const topic of TOPICS) for (const payload of [...VALID, ...HOSTILE]) sameVerdict(topic, Buffer.from(payload));
    // The ones that must be refused are refused (not merely the same).
    for (const payload of [HOSTILE[0]!, HOSTILE[3]!, HOSTILE[11]!]) expect(contract(publish(TOPIC, Buffer.from(payload)), limits).refusal).toMatchObject({ reason: 'invalid_payload' });
  });

  it('gives every payload one edit away from a valid one the full check’s verdict', () => {
    let checked = 0;
    for (const payload of VALID) {
      for (const edited of oneEditAway(payload, ALPHABET)) {
        sameVerdict(TOPIC, edited);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(5000);
  });

  it('leaves the size limit to the full check', () => {
    const payload = Buffer.from(VALID[2]!);
    expect(contract(publish(TOPIC, payload), { maxContractPayloadBytes: payload.length - 1 }).refusal).toMatchObject({ reason: 'too_large' });
  });
});

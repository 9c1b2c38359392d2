/**
 * The contract check for the commonest message, a move, read straight from its bytes: no UTF-8 decoding, no
 * JSON.parse, no object. It answers only "certainly valid"; anything it is not sure of goes the full way
 * (checkMessage), so the verdict for every input is the full check's, only cheaper for the usual one.
 *
 * Certainly valid: the topic is `devices/{id}/mouse/move` with a valid id, and the payload is a flat JSON object
 * written without spaces whose keys are plain words and whose values are all numbers, with `x`, `y`, `ts` and
 * `seq` each present as integers of at most 15 digits (safe integers), `ts` and `seq` not negative. That
 * is what mqlive's publisher sends (`{"x":1,"y":2,"ts":…,"seq":…}`) and what the bench sends (with extra
 * numeric fields). Spaces, escapes, strings, `1.0`, `-0`, a bigger number: the full check.
 *
 * What a move is, is stated once: the fields and whether each may be negative come from `MOVE_FIELDS` (the table
 * `validateMove` checks; the names are matched byte by byte here and checked against it at load) and the id
 * length from protocol/ids.ts. Only the byte grammar is this file's own; the property tests
 * (plain-move.fuzz.test.ts) hold it to the full check both ways: never "valid" where the full check refuses, and
 * on the plain shape "valid" wherever the full check accepts.
 */
import { ID_MAX_LENGTH, MOVE_FIELDS } from '../../protocol';

const PREFIX = 'devices/';
const SUFFIX = '/mouse/move';
const MAX_ID = ID_MAX_LENGTH;
const MAX_FIELDS = 16;
const MAX_KEY = 32;
const MAX_INT_DIGITS = 15; // below 2^53: every such integer is safe

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const isDigit = (c: number) => c >= ZERO && c <= NINE;
const isIdChar = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x5f || c === MINUS;
const isKeyChar = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === 0x5f;

export function isPlainValidMove(topic: string, payload: Uint8Array): boolean {
  return isMoveTopic(topic) && isPlainMovePayload(payload);
}

/** `devices/{id}/mouse/move`, the id 1 to 64 of [A-Za-z0-9_-] (protocol/ids.ts). */
function isMoveTopic(topic: string): boolean {
  const idLength = topic.length - PREFIX.length - SUFFIX.length;
  if (idLength < 1 || idLength > MAX_ID || !topic.startsWith(PREFIX) || !topic.endsWith(SUFFIX)) return false;
  for (let i = PREFIX.length; i < PREFIX.length + idLength; i++) if (!isIdChar(topic.charCodeAt(i))) return false;
  return true;
}

/** A move field: its name's bytes, its bit, and whether it may be negative. */
interface Field {
  name: Uint8Array;
  bit: number;
  signed: boolean;
}

/**
 * A minimum this shortcut can tell from the digits alone: 0 (no minus sign) or none below any 15-digit integer.
 * Another (say 1) would need the value compared: refused at load, so a new rule in MOVE_FIELDS cannot pass
 * unchecked here.
 */
function signedFor(name: string, min: number): boolean {
  if (min === 0) return false;
  if (min <= -(10 ** MAX_INT_DIGITS)) return true;
  throw new Error(`plain-move: the move field "${name}" has a minimum of ${min}; the shortcut knows only 0 and none`);
}

const FIELDS: Field[] = Object.entries(MOVE_FIELDS).map(([name, min], i) => ({ name: new TextEncoder().encode(name), bit: 1 << i, signed: signedFor(name, min) }));
const ALL = (1 << FIELDS.length) - 1;

/**
 * Which move field the key at bytes [from, to) names, or undefined for another key. Written out byte by byte:
 * a loop over MOVE_FIELDS' names made the whole shortcut about 15% slower. The check below holds it to them.
 */
function fieldOf(b: Uint8Array, from: number, to: number): Field | undefined {
  const length = to - from;
  const c0 = b[from];
  if (length === 1) return c0 === 0x78 ? FIELDS[0] : c0 === 0x79 ? FIELDS[1] : undefined; // x, y
  if (length === 2) return c0 === 0x74 && b[from + 1] === 0x73 ? FIELDS[2] : undefined; // ts
  if (length === 3) return c0 === 0x73 && b[from + 1] === 0x65 && b[from + 2] === 0x71 ? FIELDS[3] : undefined; // seq
  return undefined;
}

// A field added to, renamed in or moved within MOVE_FIELDS stops the broker at load, not silently here.
for (const field of FIELDS) {
  if (fieldOf(field.name, 0, field.name.length) !== field) throw new Error(`plain-move: the move field "${new TextDecoder().decode(field.name)}" is not the one fieldOf finds in its place`);
}

function isPlainMovePayload(b: Uint8Array): boolean {
  const end = b.length;
  if (end < 2 || b[0] !== OPEN || b[end - 1] !== CLOSE) return false;
  let seen = 0;
  let i = 1;
  for (let fields = 0; fields < MAX_FIELDS; fields++) {
    // "key"
    if (b[i] !== QUOTE) return false;
    const keyFrom = ++i;
    while (i < end && isKeyChar(b[i]!)) i++;
    const keyTo = i;
    if (keyTo === keyFrom || keyTo - keyFrom > MAX_KEY || b[i] !== QUOTE || b[i + 1] !== COLON) return false;
    i += 2;
    const field = fieldOf(b, keyFrom, keyTo);
    if (field) {
      // Every occurrence is checked, so whichever one JSON.parse keeps (the last) is valid too.
      seen |= field.bit;
      i = plainInteger(b, i, field.signed);
    } else {
      i = jsonNumber(b, i);
    }
    if (i < 0) return false;
    if (b[i] === COMMA) {
      i++;
      continue;
    }
    return b[i] === CLOSE && i === end - 1 && seen === ALL;
  }
  return false;
}

/** An integer of 1 to 15 digits, no leading zero, a minus only if allowed and not before 0; the index after it, or -1. */
function plainInteger(b: Uint8Array, i: number, signed: boolean): number {
  if (b[i] === MINUS) {
    if (!signed) return -1;
    i++;
    if (b[i] === ZERO) return -1; // -0: the full check
  }
  const from = i;
  if (b[i] === ZERO) return isDigit(b[i + 1] ?? -1) ? -1 : i + 1;
  while (i < b.length && isDigit(b[i]!)) i++;
  const digits = i - from;
  return digits >= 1 && digits <= MAX_INT_DIGITS ? i : -1;
}

/** A JSON number (RFC 8259 §6): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; the index after it, or -1. */
function jsonNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i] ?? -1)) while (i < b.length && isDigit(b[i]!)) i++;
  else return -1;
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i] ?? -1)) return -1;
    while (i < b.length && isDigit(b[i]!)) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i] ?? -1)) return -1;
    while (i < b.length && isDigit(b[i]!)) i++;
  }
  return i;
}

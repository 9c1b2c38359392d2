/**
 * Payload types of the topic contract (v1) and their runtime validators.
 * A validator returns a reason (a short English sentence) when the value is wrong, or null when it is right.
 * Fields beyond the contract are allowed, so a newer publisher can add some without breaking older consumers.
 */

import { describeValue } from './json-depth';

export const MOUSE_BUTTONS = ['left', 'right', 'middle', 'back', 'forward'] as const;
export type MouseButton = (typeof MOUSE_BUTTONS)[number];


export const STATUS_VALUES = ['online', 'offline'] as const;
export type DeviceStatus = (typeof STATUS_VALUES)[number];

export const SCHEMA_VERSION = 1;
export const CLIENT_MESSAGE_MAX_CHARS = 1000;

/** Every event carries the capture time (epoch ms) and a per-run sequence number shared by all event topics. */
export interface EventStamp {
  ts: number;
  seq: number;
}

export interface MoveEvent extends EventStamp {
  x: number;
  y: number;
}

export interface ClickEvent extends EventStamp {
  x: number;
  y: number;
  button: MouseButton;
  pressed: boolean;
}

/** One message per wheel notch. `dy > 0` is up, `dx > 0` is right (pynput's convention). */
export interface ScrollEvent extends EventStamp {
  x: number;
  y: number;
  dx: number;
  dy: number;
}

export interface ScreenSize {
  width: number;
  height: number;
}

/**
 * `kind` and `source` are open: mqlive's mouse publisher says `mouse` and `uiohook` or `demo`; another
 * publisher names its own (`system`, `os`), so any device can announce itself with the same helper.
 */
export interface DeviceMeta {
  name: string;
  kind: 'mouse' | (string & {});
  /** The mouse publisher's source (its registry: uiohook, evdev, demo, ...), or another publisher's own word. */
  source: string;
  screen: ScreenSize | null;
  host: string;
  version: string;
  schema: typeof SCHEMA_VERSION;
  startedAt: number;
}

export interface ClientMessage {
  text: string;
  ts: number;
}

export type Reason = string | null;
type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intField(o: Obj, key: string, min = Number.MIN_SAFE_INTEGER): Reason {
  const v = o[key];
  if (v === undefined) return `missing field "${key}"`;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `"${key}" must be an integer (got ${describeValue(v)})`;
  if (v < min) return `"${key}" must be at least ${min} (got ${v})`;
  return null;
}

function oneOfField(o: Obj, key: string, allowed: readonly string[]): Reason {
  const v = o[key];
  if (v === undefined) return `missing field "${key}"`;
  if (typeof v !== 'string' || !allowed.includes(v)) {
    return `"${key}" must be one of ${allowed.join(', ')} (got ${describeValue(v)})`;
  }
  return null;
}

function stringField(o: Obj, key: string): Reason {
  const v = o[key];
  if (v === undefined) return `missing field "${key}"`;
  return typeof v === 'string' ? null : `"${key}" must be a string (got ${describeValue(v)})`;
}

/** A short word naming something: 1 to 64 characters. */
function nameField(o: Obj, key: string): Reason {
  const v = o[key];
  if (v === undefined) return `missing field "${key}"`;
  if (typeof v !== 'string' || v.length === 0 || v.length > 64) return `"${key}" must be a string of 1 to 64 characters (got ${describeValue(v)})`;
  return null;
}

/** Runs checks in order and returns the first reason, so a message names one thing to fix. */
function first(value: unknown, ...checks: ((o: Obj) => Reason)[]): Reason {
  if (!isObject(value)) return 'payload must be a JSON object';
  for (const check of checks) {
    const reason = check(value);
    if (reason) return reason;
  }
  return null;
}

/**
 * A move's fields, in the order they are checked: each an integer of at least this. The one statement of what
 * a move is: `validateMove` checks it, and the broker's shortcut for plainly written moves
 * (broker/admission/plain-move.ts) reads its fields and their signs from here.
 */
export const MOVE_FIELDS = { x: Number.MIN_SAFE_INTEGER, y: Number.MIN_SAFE_INTEGER, ts: 0, seq: 0 } as const satisfies Record<keyof MoveEvent, number>;

const intChecks = (fields: Partial<Record<keyof MoveEvent, number>>) => Object.entries(fields).map(([key, min]) => (o: Obj) => intField(o, key, min));
const position = intChecks({ x: MOVE_FIELDS.x, y: MOVE_FIELDS.y });
const stamp = intChecks({ ts: MOVE_FIELDS.ts, seq: MOVE_FIELDS.seq });
const move = intChecks(MOVE_FIELDS);

export function validateMove(v: unknown): Reason {
  return first(v, ...move);
}

export function validateClick(v: unknown): Reason {
  return first(
    v,
    ...position,
    (o) => oneOfField(o, 'button', MOUSE_BUTTONS),
    (o) => (typeof o.pressed === 'boolean' ? null : `"pressed" must be true or false (got ${describeValue(o.pressed)})`),
    ...stamp,
  );
}

export function validateScroll(v: unknown): Reason {
  return first(v, ...position, (o) => intField(o, 'dx'), (o) => intField(o, 'dy'), ...stamp);
}

export function validateStatus(v: unknown): Reason {
  return typeof v === 'string' && (STATUS_VALUES as readonly string[]).includes(v)
    ? null
    : `status must be the plain text "online" or "offline" (got ${describeValue(v)})`;
}

export function validateMeta(v: unknown): Reason {
  return first(
    v,
    (o) => stringField(o, 'name'),
    (o) => nameField(o, 'kind'),
    (o) => nameField(o, 'source'),
    (o) => {
      if (o.screen === null) return null;
      if (!isObject(o.screen)) return '"screen" must be {"width","height"} or null';
      return intField(o.screen, 'width', 1) ?? intField(o.screen, 'height', 1);
    },
    (o) => stringField(o, 'host'),
    (o) => stringField(o, 'version'),
    (o) => (o.schema === SCHEMA_VERSION ? null : `"schema" must be ${SCHEMA_VERSION} (got ${describeValue(o.schema)})`),
    (o) => intField(o, 'startedAt', 0),
  );
}

export function validateClientMessage(v: unknown): Reason {
  return first(
    v,
    (o) => stringField(o, 'text'),
    (o) => {
      // Counted in characters (code points), not UTF-16 units, so an emoji counts once.
      const chars = Array.from(o.text as string).length;
      if (chars === 0) return '"text" must not be empty';
      if (chars > CLIENT_MESSAGE_MAX_CHARS) return `"text" is at most ${CLIENT_MESSAGE_MAX_CHARS} characters (got ${chars})`;
      return null;
    },
    (o) => intField(o, 'ts', 0),
  );
}

/**
 * What the broker sends on `$mqlive/clients/{clientId}/refused` when it refuses one of that client's publishes:
 * the topic, a reason word (`not_authorized`, `invalid_payload`, `too_large`) and a sentence saying why.
 */
export interface RefusalNotice {
  topic: string;
  reason: string;
  why: string;
  ts: number;
}

export function validateRefusalNotice(v: unknown): Reason {
  return first(
    v,
    (o) => stringField(o, 'topic'),
    (o) => stringField(o, 'reason'),
    (o) => stringField(o, 'why'),
    (o) => intField(o, 'ts', 0),
  );
}

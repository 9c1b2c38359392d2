/**
 * The topic contract (v1) as one table: each topic pattern with its payload type, validator, QoS, retain flag
 * and wire format. `parseTopic`, `PayloadFor`, `deliveryFor` and `checkMessage` all derive from it, so a new
 * contract topic is one new row here (plus its payload type and validator in payloads.ts).
 */
import { idProblem } from './ids';
import { jsonNestsDeeperThan } from './json-depth';
import {
  validateClick,
  validateClientMessage,
  validateMeta,
  validateMove,
  validateScroll,
  validateStatus,
  type ClickEvent,
  type ClientMessage,
  type DeviceMeta,
  type DeviceStatus,
  type MoveEvent,
  type Reason,
  type ScrollEvent,
} from './payloads';
import type { ContractTopic } from './topics';

/** How a contract topic is delivered and checked. `P` is its payload type (for the typed map). */
export interface ContractRule<P = unknown> {
  qos: 0 | 1;
  retain: boolean;
  /** 'text': the payload is plain UTF-8 text (status); 'json': a JSON value. */
  format: 'text' | 'json';
  validate: (value: unknown) => Reason;
  /** What a concrete topic of this pattern is about, given the id at its `+` level. */
  describe: (id: string) => ContractTopic;
  /** Only for type inference of the payload type; never set. */
  readonly payload?: P;
}

function rule<P>(r: Omit<ContractRule<P>, 'payload'>): ContractRule<P> {
  return r;
}

/** Every contract topic pattern (one `+` level: the device or client id) and its rule. */
export const CONTRACT = {
  'devices/+/mouse/move': rule<MoveEvent>({ qos: 0, retain: false, format: 'json', validate: validateMove, describe: (device) => ({ kind: 'mouse', device, event: 'move' }) }),
  'devices/+/mouse/click': rule<ClickEvent>({ qos: 1, retain: false, format: 'json', validate: validateClick, describe: (device) => ({ kind: 'mouse', device, event: 'click' }) }),
  'devices/+/mouse/scroll': rule<ScrollEvent>({ qos: 1, retain: false, format: 'json', validate: validateScroll, describe: (device) => ({ kind: 'mouse', device, event: 'scroll' }) }),
  'devices/+/status': rule<DeviceStatus>({ qos: 1, retain: true, format: 'text', validate: validateStatus, describe: (device) => ({ kind: 'status', device }) }),
  'devices/+/meta': rule<DeviceMeta>({ qos: 1, retain: true, format: 'json', validate: validateMeta, describe: (device) => ({ kind: 'meta', device }) }),
  'clients/+/messages': rule<ClientMessage>({ qos: 1, retain: false, format: 'json', validate: validateClientMessage, describe: (clientId) => ({ kind: 'clientMessage', clientId }) }),
} as const satisfies Record<string, ContractRule>;

export type ContractPattern = keyof typeof CONTRACT;

/** The typed map from topic pattern to payload type: `publish(topic, payload)` type-checks the pair. */
export type TopicPayloads = { [P in ContractPattern]: (typeof CONTRACT)[P] extends ContractRule<infer T> ? T : never };

/** A free-form topic carries whatever its publisher chose: text or bytes. */
export type FreeFormPayload = string | Uint8Array;

/** `devices/+/status` → `devices/${string}/status`. */
type Concrete<P extends string> = P extends `${infer Head}+${infer Tail}` ? `${Head}${string}${Concrete<Tail>}` : P;
type Matching<T extends string> = { [P in ContractPattern]: T extends Concrete<P> ? TopicPayloads[P] : never }[ContractPattern];

/** The payload type a concrete topic takes (a free-form payload for a topic outside the contract). */
export type PayloadFor<T extends string> = [Matching<T>] extends [never] ? FreeFormPayload : Matching<T>;

const PATTERNS = (Object.keys(CONTRACT) as ContractPattern[]).map((pattern) => ({ pattern, levels: pattern.split('/') }));

/** The contract rule a topic falls under and the id at its `+` level, or null for a free-form topic. */
export function matchContract(topic: string): { pattern: ContractPattern; rule: ContractRule; id: string } | null {
  const levels = topic.split('/');
  for (const { pattern, levels: wanted } of PATTERNS) {
    if (wanted.length !== levels.length) continue;
    let id: string | undefined;
    let same = true;
    for (let i = 0; i < wanted.length && same; i++) {
      if (wanted[i] === '+') id = levels[i];
      else same = wanted[i] === levels[i];
    }
    if (same && id !== undefined) return { pattern, rule: CONTRACT[pattern], id };
  }
  return null;
}

/**
 * Parses a topic by its shape. Returns null for free-form topics: any other shape, including
 * `devices/pi/temperature/celsius` from an extra publisher. The id is not checked here
 * (`devices/a.b/status` parses with device `a.b`): `checkMessage` refuses it with a reason.
 */
export function parseTopic(topic: string): ContractTopic | null {
  const match = matchContract(topic);
  return match ? match.rule.describe(match.id) : null;
}

/** QoS and retain flag the contract gives a topic; null for a free-form topic (its publisher decides). */
export function deliveryFor(topic: string): { qos: 0 | 1; retain: boolean } | null {
  const match = matchContract(topic);
  return match ? { qos: match.rule.qos, retain: match.rule.retain } : null;
}

/** Turns a contract payload into its bytes on the wire: status as plain text, everything else as JSON. */
export function encodePayload<T extends string>(topic: T, payload: PayloadFor<T>): string | Uint8Array {
  if (typeof payload === 'string' || payload instanceof Uint8Array) return payload;
  return JSON.stringify(payload);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The contract's payloads are flat (meta's `screen` is the one object inside one); extra fields may nest a
 * little. Deeper JSON is refused before it is parsed or walked.
 */
export const MAX_CONTRACT_JSON_DEPTH = 8;

/**
 * `cleared`: an empty payload on a retained contract topic (status, meta), MQTT's way to clear its retained
 * message; `payload` is then null. The broker lets it through only with the retain flag set.
 */
export type CheckedMessage =
  | { ok: true; topic: ContractTopic | null; payload: unknown; cleared?: true }
  | { ok: false; topic: ContractTopic; reason: string };

/**
 * Decodes and validates a message by its topic. Free-form topics always pass (payload left as bytes);
 * contract topics pass only with a valid id and payload, and a refusal says why.
 */
export function checkMessage(topic: string, bytes: Uint8Array): CheckedMessage {
  const match = matchContract(topic);
  if (!match) return { ok: true, topic: null, payload: bytes };
  let text: string | null = null;
  try {
    text = utf8.decode(bytes);
  } catch {
    // refused below, after the id
  }
  let json: unknown = undefined;
  if (text !== null && match.rule.format === 'json') {
    if (jsonNestsDeeperThan(text, MAX_CONTRACT_JSON_DEPTH)) return { ok: false, topic: match.rule.describe(match.id), reason: `payload is nested deeper than ${MAX_CONTRACT_JSON_DEPTH} levels` };
    try {
      json = JSON.parse(text);
    } catch {
      // refused below
    }
  }
  return checkMatched(match, text, json);
}

/**
 * `checkMessage` for a payload its caller has decoded already (a viewer decodes each message once for
 * everything it shows): `text` is null if the bytes were not UTF-8, `json` undefined if they were not parsed
 * as JSON. Free-form topics pass with `json ?? text` as their payload.
 */
export function checkDecoded(topic: string, text: string | null, json: unknown): CheckedMessage {
  const match = matchContract(topic);
  if (!match) return { ok: true, topic: null, payload: json ?? text };
  return checkMatched(match, text, json);
}

function checkMatched(match: NonNullable<ReturnType<typeof matchContract>>, text: string | null, json: unknown): CheckedMessage {
  const parsed = match.rule.describe(match.id);
  const refuse = (reason: string): CheckedMessage => ({ ok: false, topic: parsed, reason });
  const badId = idProblem(match.id);
  if (badId) return refuse(`topic ${match.pattern.replace('+', match.id)}: ${badId}`);
  if (text === null) return refuse('payload is not valid UTF-8');
  if (text === '' && match.rule.retain) return { ok: true, topic: parsed, payload: null, cleared: true };
  if (match.rule.format === 'json' && json === undefined) return refuse('payload is not valid JSON');
  const value = match.rule.format === 'json' ? json : text;
  const reason = match.rule.validate(value);
  return reason ? refuse(reason) : { ok: true, topic: parsed, payload: value };
}

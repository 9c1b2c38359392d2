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

/** What a concrete contract topic is about: its kind, and the id at its `+` level under its own name. */
export interface TopicMeaning {
  kind: string;
}

/** How a contract topic is delivered and checked. `P` is its payload type (for the typed map). */
export interface ContractRule<P = unknown> {
  qos: 0 | 1;
  /** Retained topics (status, meta) may also be cleared by an empty payload. */
  retain: boolean;
  /** 'text': the payload is plain UTF-8 text (status); 'json': a JSON value. */
  format: 'text' | 'json';
  /** Why a value is not a `P`, or null when it is one: what lets `checkMessage` type an accepted payload as `P`. */
  validate: (value: unknown) => Reason;
  /** What a concrete topic of this pattern is about, given the id at its `+` level. */
  describe: (id: string) => TopicMeaning;
  /** Only for type inference of the payload type; never set. */
  readonly payload?: P;
}

/**
 * One row of the table: `P` is named, everything else is kept as written (a row's `retain` stays `true` or
 * `false`, its `describe` returns its own kind), so the types below are read off the table itself.
 */
function rule<P>() {
  return <const R extends Omit<ContractRule<P>, 'payload'>>(r: R): R & { readonly payload?: P } => r;
}

/** Every contract topic pattern (one `+` level: the device or client id) and its rule. */
export const CONTRACT = {
  'devices/+/mouse/move': rule<MoveEvent>()({ qos: 0, retain: false, format: 'json', validate: validateMove, describe: (device) => ({ kind: 'mouse', device, event: 'move' }) as const }),
  'devices/+/mouse/click': rule<ClickEvent>()({ qos: 1, retain: false, format: 'json', validate: validateClick, describe: (device) => ({ kind: 'mouse', device, event: 'click' }) as const }),
  'devices/+/mouse/scroll': rule<ScrollEvent>()({ qos: 1, retain: false, format: 'json', validate: validateScroll, describe: (device) => ({ kind: 'mouse', device, event: 'scroll' }) as const }),
  'devices/+/status': rule<DeviceStatus>()({ qos: 1, retain: true, format: 'text', validate: validateStatus, describe: (device) => ({ kind: 'status', device }) as const }),
  'devices/+/meta': rule<DeviceMeta>()({ qos: 1, retain: true, format: 'json', validate: validateMeta, describe: (device) => ({ kind: 'meta', device }) as const }),
  'clients/+/messages': rule<ClientMessage>()({ qos: 1, retain: false, format: 'json', validate: validateClientMessage, describe: (clientId) => ({ kind: 'clientMessage', clientId }) as const }),
} as const satisfies Record<string, ContractRule>;

export type ContractPattern = keyof typeof CONTRACT;
type Row<P extends ContractPattern> = (typeof CONTRACT)[P];

/** The typed map from topic pattern to payload type: `publish(topic, payload)` type-checks the pair. */
export type TopicPayloads = { [P in ContractPattern]: Row<P> extends { readonly payload?: infer T } ? T : never };

/** What a concrete topic of pattern `P` is about: what its row's `describe` returns. */
export type TopicOf<P extends ContractPattern> = ReturnType<Row<P>['describe']>;

/** What a contract topic is about (`{ kind: 'mouse', device, event: 'move' }`, ...), one member per row. */
export type ContractTopic = TopicOf<ContractPattern>;

/** A free-form topic carries whatever its publisher chose: text or bytes. */
export type FreeFormPayload = string | Uint8Array;

/** `devices/+/status` → `devices/${string}/status`. */
type Concrete<P extends string> = P extends `${infer Head}+${infer Tail}` ? `${Head}${string}${Concrete<Tail>}` : P;
type Matching<T extends string> = { [P in ContractPattern]: T extends Concrete<P> ? TopicPayloads[P] : never }[ContractPattern];

/** The payload type a concrete topic takes (a free-form payload for a topic outside the contract). */
export type PayloadFor<T extends string> = [Matching<T>] extends [never] ? FreeFormPayload : Matching<T>;

const PATTERNS = (Object.keys(CONTRACT) as ContractPattern[]).map((pattern) => ({ pattern, levels: pattern.split('/') }));

/** A topic's row of the table and the id at its `+` level; `rule` is the row of `pattern`. */
export type ContractMatch = { [P in ContractPattern]: { pattern: P; rule: Row<P>; id: string } }[ContractPattern];

/** The contract rule a topic falls under and the id at its `+` level, or null for a free-form topic. */
export function matchContract(topic: string): ContractMatch | null {
  const levels = topic.split('/');
  for (const { pattern, levels: wanted } of PATTERNS) {
    if (wanted.length !== levels.length) continue;
    let id: string | undefined;
    let same = true;
    for (let i = 0; i < wanted.length && same; i++) {
      if (wanted[i] === '+') id = levels[i];
      else same = wanted[i] === levels[i];
    }
    if (same && id !== undefined) return { pattern, rule: CONTRACT[pattern], id } as ContractMatch; // TypeScript cannot pair a key with its own row
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
 * An accepted message on a topic of pattern `P`: its payload is the row's payload type, or, on a retained row
 * (status, meta), null with `cleared` (an empty payload, MQTT's way to clear a retained message; the broker
 * lets it through only with the retain flag set). `pattern` tells the rows apart: `switch (m.pattern)` narrows
 * `payload` and `topic` together (TypeScript does not narrow a message by its `topic.kind`, a nested field).
 */
export type ContractMessageOn<P extends ContractPattern> =
  | { ok: true; pattern: P; topic: TopicOf<P>; payload: TopicPayloads[P]; cleared?: undefined }
  | (Row<P>['retain'] extends true ? { ok: true; pattern: P; topic: TopicOf<P>; payload: null; cleared: true } : never);

/** An accepted message on any contract topic: a union with one member per row of `CONTRACT` (two if retained). */
export type ContractMessage = { [P in ContractPattern]: ContractMessageOn<P> }[ContractPattern];

/** The accepted messages on topics of one kind: `ContractMessageOfKind<'mouse'>` is a move, a click or a scroll. */
export type ContractMessageOfKind<K extends ContractTopic['kind']> = Extract<ContractMessage, { topic: { kind: K } }>;

/** Whether an accepted message is on a topic of `kind`; unlike a test of `m.topic.kind`, it narrows `m.payload`. */
export function isOfKind<K extends ContractTopic['kind']>(m: ContractMessage | FreeFormMessage, kind: K): m is ContractMessageOfKind<K> {
  return m.topic?.kind === kind;
}

/** A message on a topic outside the contract: its payload is whatever its publisher chose, unchecked. */
export interface FreeFormMessage {
  ok: true;
  pattern: null;
  topic: null;
  payload: unknown;
  cleared?: undefined;
}

export interface RefusedMessage {
  ok: false;
  topic: ContractTopic;
  reason: string;
}

export type CheckedMessage = ContractMessage | FreeFormMessage | RefusedMessage;

/**
 * Decodes and validates a message by its topic. Free-form topics always pass (payload left as bytes);
 * contract topics pass only with a valid id and payload, and a refusal says why.
 */
export function checkMessage(topic: string, bytes: Uint8Array): CheckedMessage {
  const match = matchContract(topic);
  if (!match) return { ok: true, pattern: null, topic: null, payload: bytes };
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
  if (!match) return { ok: true, pattern: null, topic: null, payload: json ?? text };
  return checkMatched(match, text, json);
}

function checkMatched(match: ContractMatch, text: string | null, json: unknown): CheckedMessage {
  const { pattern, rule, id } = match;
  const topic = rule.describe(id);
  const refuse = (reason: string): RefusedMessage => ({ ok: false, topic, reason });
  const badId = idProblem(id);
  if (badId) return refuse(`topic ${pattern.replace('+', id)}: ${badId}`);
  if (text === null) return refuse('payload is not valid UTF-8');
  // The casts pair a row's pattern with its own topic and payload, which TypeScript cannot follow through a
  // union of rows; the payload is the row's type because the row's validator just said so.
  if (text === '' && rule.retain) return { ok: true, pattern, topic, payload: null, cleared: true } as ContractMessage;
  if (rule.format === 'json' && json === undefined) return refuse('payload is not valid JSON');
  const value = rule.format === 'json' ? json : text;
  const reason = rule.validate(value);
  return reason ? refuse(reason) : ({ ok: true, pattern, topic, payload: value } as ContractMessage);
}

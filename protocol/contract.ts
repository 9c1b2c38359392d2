import { idProblem } from './ids';
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
import { parseTopic, type ContractTopic } from './topics';

/** The typed map from topic pattern to payload type: `publish(topic, payload)` type-checks the pair. */
export interface TopicPayloads {
  'devices/+/mouse/move': MoveEvent;
  'devices/+/mouse/click': ClickEvent;
  'devices/+/mouse/scroll': ScrollEvent;
  'devices/+/status': DeviceStatus;
  'devices/+/meta': DeviceMeta;
  'clients/+/messages': ClientMessage;
}

/** A free-form topic carries whatever its publisher chose: text or bytes. */
export type FreeFormPayload = string | Uint8Array;

/** The payload type a concrete topic takes (a free-form payload for a topic outside the contract). */
export type PayloadFor<T extends string> = T extends `devices/${string}/mouse/move`
  ? TopicPayloads['devices/+/mouse/move']
  : T extends `devices/${string}/mouse/click`
    ? TopicPayloads['devices/+/mouse/click']
    : T extends `devices/${string}/mouse/scroll`
      ? TopicPayloads['devices/+/mouse/scroll']
      : T extends `devices/${string}/status`
        ? TopicPayloads['devices/+/status']
        : T extends `devices/${string}/meta`
          ? TopicPayloads['devices/+/meta']
          : T extends `clients/${string}/messages`
            ? TopicPayloads['clients/+/messages']
            : FreeFormPayload;

/** QoS and retain flag the contract gives each topic. */
export function deliveryFor(parsed: ContractTopic): { qos: 0 | 1; retain: boolean } {
  switch (parsed.kind) {
    case 'mouse':
      return { qos: parsed.event === 'move' ? 0 : 1, retain: false };
    case 'status':
    case 'meta':
      return { qos: 1, retain: true };
    case 'clientMessage':
      return { qos: 1, retain: false };
  }
}

/** Turns a contract payload into its bytes on the wire: status as plain text, everything else as JSON. */
export function encodePayload<T extends string>(topic: T, payload: PayloadFor<T>): string | Uint8Array {
  if (typeof payload === 'string' || payload instanceof Uint8Array) return payload;
  return JSON.stringify(payload);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type CheckedMessage =
  | { ok: true; topic: ContractTopic | null; payload: unknown }
  | { ok: false; topic: ContractTopic; reason: string };

/**
 * Decodes and validates a message by its topic. Free-form topics always pass (payload left as bytes);
 * contract topics pass only with a valid id and payload, and a refusal says why.
 */
export function checkMessage(topic: string, bytes: Uint8Array): CheckedMessage {
  const parsed = parseTopic(topic);
  if (!parsed) return { ok: true, topic: null, payload: bytes };
  const refuse = (reason: string): CheckedMessage => ({ ok: false, topic: parsed, reason });

  const id = parsed.kind === 'clientMessage' ? parsed.clientId : parsed.device;
  const badId = idProblem(id);
  if (badId) return refuse(`topic ${topic}: ${badId}`);

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return refuse('payload is not valid UTF-8');
  }
  if (parsed.kind === 'status') {
    const reason = validateStatus(text);
    return reason ? refuse(reason) : { ok: true, topic: parsed, payload: text };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse('payload is not valid JSON');
  }
  const reason = validatorFor(parsed)(value);
  return reason ? refuse(reason) : { ok: true, topic: parsed, payload: value };
}

function validatorFor(parsed: ContractTopic): (v: unknown) => Reason {
  switch (parsed.kind) {
    case 'mouse':
      return { move: validateMove, click: validateClick, scroll: validateScroll }[parsed.event];
    case 'status':
      return validateStatus;
    case 'meta':
      return validateMeta;
    case 'clientMessage':
      return validateClientMessage;
  }
}

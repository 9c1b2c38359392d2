import { assertId } from './ids';

export const MOUSE_EVENT_KINDS = ['move', 'click', 'scroll'] as const;
export type MouseEventKind = (typeof MOUSE_EVENT_KINDS)[number];

/** Subscription patterns for the contract topics. */
export const TOPIC_PATTERNS = {
  mouse: 'devices/+/mouse/+',
  status: 'devices/+/status',
  meta: 'devices/+/meta',
  clientMessages: 'clients/+/messages',
  allDevices: 'devices/#',
} as const;

export function mouseTopic(device: string, kind: MouseEventKind): `devices/${string}/mouse/${MouseEventKind}` {
  return `devices/${assertId(device)}/mouse/${kind}`;
}

export function statusTopic(device: string): `devices/${string}/status` {
  return `devices/${assertId(device)}/status`;
}

export function metaTopic(device: string): `devices/${string}/meta` {
  return `devices/${assertId(device)}/meta`;
}

export function clientMessagesTopic(clientId: string): `clients/${string}/messages` {
  return `clients/${assertId(clientId, 'client')}/messages`;
}

/** What a contract topic is about. Anything else is free-form and parses to null. */
export type ContractTopic =
  | { kind: 'mouse'; device: string; event: MouseEventKind }
  | { kind: 'status'; device: string }
  | { kind: 'meta'; device: string }
  | { kind: 'clientMessage'; clientId: string };

/**
 * Parses a topic by its shape. Returns null for free-form topics: any other shape, including
 * `devices/pi/temperature/celsius` from an extra publisher. The id is not checked here
 * (`devices/a.b/status` parses with device `a.b`): `validateMessage` refuses it with a reason.
 */
export function parseTopic(topic: string): ContractTopic | null {
  const levels = topic.split('/');
  const [first, id, third, fourth] = levels;
  if (id === undefined || third === undefined) return null;
  if (first === 'devices') {
    if (levels.length === 3 && third === 'status') return { kind: 'status', device: id };
    if (levels.length === 3 && third === 'meta') return { kind: 'meta', device: id };
    if (levels.length === 4 && third === 'mouse' && isMouseEventKind(fourth)) {
      return { kind: 'mouse', device: id, event: fourth };
    }
  }
  if (first === 'clients' && levels.length === 3 && third === 'messages') {
    return { kind: 'clientMessage', clientId: id };
  }
  return null;
}

function isMouseEventKind(s: string | undefined): s is MouseEventKind {
  return (MOUSE_EVENT_KINDS as readonly string[]).includes(s ?? '');
}

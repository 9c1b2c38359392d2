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

/**
 * Where the broker tells a client that one of its publishes was refused (broker-sent; see the README's contract and docs/broker.md).
 * `$` topics are never matched by a leading `#` or `+` (MQTT-4.7.2-1), and the broker lets a client subscribe
 * only to its own.
 */
export function refusedTopic(clientId: string): `$mqlive/clients/${string}/refused` {
  return `$mqlive/clients/${assertId(clientId, 'client')}/refused`;
}

// What a contract topic is about (`ContractTopic`) is read off the contract table: see contract.ts.

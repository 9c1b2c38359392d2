/** The broker's limits; each has a flag (see broker/cli.ts) and a default sized for a live dashboard. */
export interface Limits {
  /** Largest MQTT packet a client may send, in bytes (fixed header included). */
  maxPacketBytes: number;
  /** Largest payload on a contract topic, in bytes. */
  maxContractPayloadBytes: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** How long a new connection may take to send CONNECT. */
  connectTimeoutMs: number;
  /** The longest keep alive an MQTT 5 client gets (Server Keep Alive): a dead connection is noticed within 1.5 times it. MQTT 3.1.1 has no way to say it. */
  maxKeepaliveSeconds: number;
  /** Publishes a second one client may sustain, and the burst it may use up at once; past it, it is disconnected. */
  publishRate: number;
  publishBurst: number;
  /** Refused publishes after which a client is disconnected (it cannot be told otherwise in MQTT 3.1.1). */
  maxRefusedPublishes: number;
  /** Failed logins in a minute after which a user name is locked out at one address / the whole address is. */
  maxFailedLoginsPerUser: number;
  maxFailedLoginsPerAddress: number;
  /** Retained topics, and their payload bytes, beyond which a new retained topic is not retained. */
  maxRetainedMessages: number;
  maxRetainedBytes: number;
  /** QoS 1 and 2 messages one persistent session holds, queued or in flight (sent, not acknowledged); beyond, the oldest is dropped. */
  maxQueuedMessages: number;
  /** Their payload bytes; beyond, the oldest is dropped. */
  maxQueuedBytes: number;
  /** Persistent sessions (clean=false) one user holds, or one address for anonymous clients; beyond, CONNACK 3. */
  maxSessionsPerUser: number;
  /** QoS 2 messages one client has sent and not yet released (PUBREL), its persistent session's included; beyond, it is disconnected. */
  maxAwaitingPubrel: number;
  /** Subscriptions one client may hold; beyond, SUBACK 0x80. */
  maxSubscriptionsPerClient: number;
  /** HTTP: time for a request's head, for a whole request, and before an idle keep-alive connection is closed. */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxPacketBytes: 256 * 1024,
  maxContractPayloadBytes: 4 * 1024,
  maxTopicLength: 1024,
  maxTopicLevels: 32,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 2_500,
  connectTimeoutMs: 10_000,
  // What MQTT.js, Mosquitto's clients, paho-mqtt and Home Assistant ask for by default.
  maxKeepaliveSeconds: 60,
  publishRate: 2_000,
  publishBurst: 4_000,
  maxRefusedPublishes: 3,
  maxFailedLoginsPerUser: 10,
  maxFailedLoginsPerAddress: 100,
  maxRetainedMessages: 10_000,
  maxRetainedBytes: 64 * 1024 * 1024,
  maxQueuedMessages: 1_000,
  // 1,000 of the contract's mouse events are about 100 KiB: 1 MiB never binds for them, and keeps 256 KiB payloads to 4.
  maxQueuedBytes: 1024 * 1024,
  // mqlive's own clients use clean sessions; 5 leaves room for a few third-party ones per user, and keeps one
  // account's state that outlives its connections near 45 MiB (docs/broker.md, "Limits").
  maxSessionsPerUser: 5,
  // Mosquitto's max_inflight_messages default; what a QoS 2 publisher that waits for PUBREC ever has outstanding.
  maxAwaitingPubrel: 20,
  maxSubscriptionsPerClient: 1_000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
};

/**
 * A limit `mqlive broker` takes a flag for: `--max-packet-bytes N` (and MQLIVE_MAX_PACKET_BYTES) sets
 * `maxPacketBytes`, a whole number of at least 1, whose default is DEFAULT_LIMITS'. broker/cli.ts derives the
 * option, its help line and the limits it sets from this table alone.
 */
export interface LimitFlag {
  limit: keyof Limits;
  /** What the help says it is; `(default N)` is added. */
  help: string;
  /** Said before the default in that parenthesis: `(Server Keep Alive; default 60)`. */
  aside?: string;
  /** Other limits the value sets: the publish burst is twice the rate. */
  also?: (value: number) => Partial<Limits>;
}

export const LIMIT_FLAGS = {
  'max-packet-bytes': { limit: 'maxPacketBytes', help: 'largest MQTT packet' },
  'max-payload-bytes': { limit: 'maxContractPayloadBytes', help: 'largest payload on a contract topic' },
  'max-topic-length': { limit: 'maxTopicLength', help: 'longest topic' },
  'max-topic-levels': { limit: 'maxTopicLevels', help: 'deepest topic' },
  'max-connections': { limit: 'maxConnections', help: 'connections in total' },
  'max-connections-per-address': { limit: 'maxConnectionsPerAddress', help: 'connections from one address' },
  'connect-timeout-ms': { limit: 'connectTimeoutMs', help: 'time allowed to send CONNECT' },
  'max-keepalive': { limit: 'maxKeepaliveSeconds', help: 'longest keep alive an MQTT 5 client gets, in seconds', aside: 'Server Keep Alive' },
  'max-publish-rate': { limit: 'publishRate', help: 'publishes a second per client, burst twice that', also: (rate) => ({ publishBurst: rate * 2 }) },
  'max-retained-messages': { limit: 'maxRetainedMessages', help: 'retained topics; a new one beyond is not retained' },
  'max-retained-bytes': { limit: 'maxRetainedBytes', help: 'payload bytes of retained messages' },
  'max-queued-messages': { limit: 'maxQueuedMessages', help: 'QoS 1/2 messages one persistent session holds, queued or unacknowledged; the oldest dropped beyond' },
  'max-queued-bytes': { limit: 'maxQueuedBytes', help: 'their payload bytes; the oldest dropped beyond' },
  'max-sessions-per-user': { limit: 'maxSessionsPerUser', help: 'persistent sessions one user (anonymous: one address) holds; CONNACK 3 beyond' },
  'max-awaiting-pubrel': { limit: 'maxAwaitingPubrel', help: 'QoS 2 messages one client has not released; disconnected beyond' },
  'max-subscriptions-per-client': { limit: 'maxSubscriptionsPerClient', help: 'subscriptions one client may hold' },
} as const satisfies Record<string, LimitFlag>;

export type LimitFlagName = keyof typeof LIMIT_FLAGS;

/** The limits the flags given set (those not given are left out, for DEFAULT_LIMITS to fill). */
export function limitsFromFlags(given: Partial<Record<LimitFlagName, number>>): Partial<Limits> {
  const limits: Partial<Limits> = {};
  for (const [flag, entry] of Object.entries(LIMIT_FLAGS) as [LimitFlagName, LimitFlag][]) {
    const value = given[flag];
    if (value !== undefined) Object.assign(limits, { [entry.limit]: value }, entry.also?.(value));
  }
  return limits;
}

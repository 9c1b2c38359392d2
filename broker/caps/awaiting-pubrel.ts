import { requireInternal } from '../library-internals';
import { tellMqtt5Disconnect } from '../mqtt5-disconnect';
import type { Aedes } from 'aedes';
import { LogLimiter, printable, type Logger } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { Limits } from '../security/limits';

type Client = { id: string; version?: number | null; conn?: unknown };
type Packet = { messageId?: number };

/** The part of Aedes's persistence interface that holds QoS 2 messages a client sent and has not released. */
interface IncomingStore {
  incomingStorePacket(client: Client, packet: Packet): Promise<void>;
  incomingDelPacket(client: Client, packet: Packet): Promise<void>;
  cleanIncoming?(client: Client): Promise<void>;
}

/**
 * Bounds the QoS 2 messages a client has sent and not yet released with PUBREL (each stored until then) to
 * `maxAwaitingPubrel`, counted by client id so that a persistent session's are counted across its reconnects
 * (Aedes's own bound, maxInflightInbound, counts one connection's only; it is kept one above this as a backstop).
 * One more and the client is disconnected: MQTT 3.1.1 has no way to say "wait". Counted in /metrics
 * (mqlive_caps_hit_total{cap="awaiting_pubrel"}), logged as cap_hit. Per instance with --redis.
 */
export class AwaitingPubrelCap {
  private readonly awaiting = new Map<string, Set<number | undefined>>();

  private readonly warnings: LogLimiter;

  constructor(
    private readonly limits: Pick<Limits, 'maxAwaitingPubrel'>,
    private readonly metrics: BrokerMetrics,
    log: Logger,
  ) {
    this.warnings = new LogLimiter(log);
  }

  install(aedes: Aedes): void {
    const persistence = (aedes as unknown as { persistence: IncomingStore }).persistence;
    for (const method of ['incomingStorePacket', 'incomingDelPacket'] as const) {
      requireInternal(typeof persistence?.[method] === 'function', 'aedes', `Aedes#persistence.${method} (to cap QoS 2 messages awaiting PUBREL)`);
    }
    const store = persistence.incomingStorePacket.bind(persistence);
    const del = persistence.incomingDelPacket.bind(persistence);
    const clean = persistence.cleanIncoming?.bind(persistence);
    // Called by Aedes only for a message id not stored yet (a resent one is answered without it).
    persistence.incomingStorePacket = async (client, packet) => {
      let ids = this.awaiting.get(client.id);
      if (!ids) this.awaiting.set(client.id, (ids = new Set()));
      if (!ids.has(packet.messageId) && ids.size >= this.limits.maxAwaitingPubrel) {
        this.metrics.capsHit.awaiting_pubrel += 1;
        const why = `${ids.size} QoS 2 messages awaiting PUBREL (limit ${this.limits.maxAwaitingPubrel}, --max-awaiting-pubrel)`;
        this.warnings.warn({ event: 'cap_hit', cap: 'awaiting_pubrel', clientId: client.id, reason: why }, `Disconnected ${printable(client.id)}: ${why}`);
        // MQTT 5: told with DISCONNECT 0x93 (Receive Maximum exceeded: the CONNACK said how many).
        tellMqtt5Disconnect(client, 0x93, why);
        throw new Error(why); // Aedes stores nothing and closes the connection
      }
      ids.add(packet.messageId);
      try {
        await store(client, packet);
      } catch (error) {
        this.release(client.id, packet.messageId);
        throw error;
      }
    };
    persistence.incomingDelPacket = async (client, packet) => {
      try {
        await del(client, packet);
      } finally {
        this.release(client.id, packet.messageId);
      }
    };
    if (clean) {
      persistence.cleanIncoming = async (client) => {
        this.awaiting.delete(client.id);
        await clean(client);
      };
    }
    // A clean session's are gone with it, from the store too: neither persistence mqlive uses can clean them
    // (Aedes 1.2.0 called cleanIncoming where there is one; the beta does not), and a new session's QoS 2 message
    // that reused an old one's id would be taken for a resend of it and never published. MQTT 5's Clean Start
    // discards the session before it as well, whatever its expiry.
    // In MQTT 5 `clean` says only that the session ends with the connection: one resumed (Clean Start 0) keeps them.
    const startsClean = (client: { version?: number | null; clean?: boolean; _cleanStart?: boolean }) => (client.version === 5 ? client._cleanStart === true : client.clean === true);
    aedes.on('client', (client) => {
      if (startsClean(client as never)) this.forget(client, del);
    });
    aedes.on('clientDisconnect', (client) => {
      if (client.clean) this.forget(client, del);
    });
    // An MQTT 5 session that expired while offline: Aedes wipes it but for these.
    aedes.on('sessionExpired' as 'client', (client) => this.forget(client, del));
  }

  /** Drops what a session was still to release, from the count and from the store. */
  private forget(client: Client, del: (client: Client, packet: Packet) => Promise<void>): void {
    const ids = this.awaiting.get(client.id);
    if (!ids) return;
    this.awaiting.delete(client.id);
    for (const messageId of ids) del(client, { messageId }).catch(() => {});
  }

  private release(id: string, messageId: number | undefined): void {
    const ids = this.awaiting.get(id);
    ids?.delete(messageId);
    if (ids?.size === 0) this.awaiting.delete(id);
  }
}

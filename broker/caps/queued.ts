import { requireInternal } from '../library-internals';
import type { Aedes, PublishPacket } from 'aedes';
import { LogLimiter, printable, type Logger } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { Limits } from '../security/limits';

type Queued = PublishPacket & { brokerId?: string; brokerCounter?: number; messageId?: number };

interface Pubrel {
  cmd: 'pubrel';
  messageId?: number;
}

/** The part of Aedes's persistence interface that holds what a persistent session is owed. */
interface OutgoingQueue {
  outgoingEnqueue(sub: { clientId: string }, packet: Queued): Promise<void>;
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: Queued): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<Queued>;
  /** With a PUBLISH once it is sent; with the PUBREL that replaces a QoS 2 one once its PUBREC came. */
  outgoingUpdate(client: { id: string }, packet: Queued | Pubrel): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<Queued | undefined>;
}

interface SysEmitter {
  on(topic: string, listener: (packet: { topic: string; payload: Buffer }, done: () => void) => void): void;
}

/** One message a session holds: its payload bytes, and its packet id once it was sent (in flight). */
interface Held {
  bytes: number;
  messageId?: number;
}

/** What one session holds, oldest first (keyed by the message's broker id and counter, as Aedes keys it). */
interface Ledger {
  held: Map<string, Held>;
  bytes: number;
  /** Whether a drop was logged since the session was last under its caps (one line per episode, not per message). */
  logged: boolean;
}

/** The packet id a dropped message that was never sent gets just before it is cleared (see clear). */
const DROP_ID = 65535;
/** Dropped messages remembered per online session until their sending comes by (see markDropped). */
const DROPPED_KEPT = 10_000;
const METHODS = ['outgoingEnqueue', 'outgoingEnqueueCombi', 'outgoingStream', 'outgoingUpdate', 'outgoingClearMessageId'] as const;

const keyOf = (packet: { brokerId?: string; brokerCounter?: number }) => `${packet.brokerId}:${packet.brokerCounter}`;
const pubrelKey = (messageId: number | undefined) => `pubrel:${messageId}`;
const payloadBytes = (packet: Queued) => (typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : (packet.payload?.length ?? 0));

/**
 * Bounds what a persistent session (clean=false) holds: the QoS 1 and 2 messages queued for it and those sent
 * and not yet acknowledged, online or offline, to `maxQueuedMessages` and `maxQueuedBytes` of payload. Past
 * either, the oldest is dropped: cleared from the persistence as if acknowledged, so it is not resent at the next
 * reconnect (one already on its way is still written once). Counted in /metrics
 * (mqlive_caps_hit_total{cap="queued_messages"|"queued_bytes"}), logged.
 *
 * It follows the persistence interface only (enqueue adds, clear removes, update marks a message as sent), so
 * it works on any persistence. QoS 0 never reaches it. With --redis, each instance counts what it queued for a
 * session that is offline, and what it sends to its own clients; a session online at another instance is counted
 * there.
 */
export class QueuedCap {
  private readonly sessions = new Map<string, Ledger>();
  /** Per session online here, dropped messages whose sending may be under way: their update must not fail the client. */
  private readonly dropped = new Map<string, Set<string>>();
  /** Sessions online at this instance. */
  private readonly here = new Set<string>();

  private readonly warnings: LogLimiter;

  constructor(
    private readonly limits: Pick<Limits, 'maxQueuedMessages' | 'maxQueuedBytes'>,
    private readonly metrics: BrokerMetrics,
    log: Logger,
  ) {
    this.warnings = new LogLimiter(log);
  }

  install(aedes: Aedes): void {
    // Aedes 1.x types declare neither its persistence nor its emitter.
    const internals = aedes as unknown as { id: string; persistence: OutgoingQueue; mq: SysEmitter };
    const { persistence } = internals;
    for (const method of METHODS) {
      requireInternal(typeof persistence?.[method] === 'function', 'aedes', `Aedes#persistence.${method} (to cap queued messages)`);
    }
    const original = Object.fromEntries(METHODS.map((m) => [m, persistence[m].bind(persistence)])) as unknown as OutgoingQueue;
    this.original = original;

    // Clients online at another instance (with --redis): what is queued here for them is sent, counted and
    // cleared there; told by every broker's $SYS/{id}/new|disconnect/clients.
    const elsewhere = new Set<string>();
    internals.mq.on('$SYS/+/new/clients', (packet, done) => {
      const id = packet.payload.toString();
      if (packet.topic.split('/')[1] !== internals.id) {
        elsewhere.add(id);
        this.forget(id);
      }
      done();
    });
    internals.mq.on('$SYS/+/disconnect/clients', (packet, done) => {
      elsewhere.delete(packet.payload.toString());
      done();
    });

    // Queued: counted as it is queued; only a session over its cap costs the publish more turns (the drop).
    const enqueued = (ids: string[], packet: Queued, queued: Promise<void>): Promise<void> => {
      const drops = ids.filter((id) => !elsewhere.has(id)).flatMap((id) => this.hold(id, packet));
      if (drops.length === 0) return queued;
      return queued.then(() => this.clearAll(drops));
    };
    persistence.outgoingEnqueueCombi = (subs, packet) =>
      enqueued(
        subs.map((s) => s.clientId),
        packet,
        original.outgoingEnqueueCombi(subs, packet),
      );
    persistence.outgoingEnqueue = (sub, packet) => enqueued([sub.clientId], packet, original.outgoingEnqueue(sub, packet));

    // Sent: now in flight with a packet id. A message queued by another instance is counted here as it is sent.
    persistence.outgoingUpdate = (client, packet) => {
      const drops: Drop[] = [];
      if (packet.cmd === 'publish' && packet.brokerId !== undefined) {
        const held = this.sessions.get(client.id)?.held.get(keyOf(packet));
        if (held) held.messageId = packet.messageId;
        else if (!elsewhere.has(client.id) && !this.dropped.get(client.id)?.has(keyOf(packet))) drops.push(...this.hold(client.id, packet));
      }
      const updated = original.outgoingUpdate(client, packet).catch((error: unknown) => {
        // Dropped while on its way (or, for a PUBREL, dropped while awaiting its PUBREC): let Aedes write it once
        // rather than fail (and disconnect) the client.
        if (this.dropped.get(client.id)?.delete(packet.cmd === 'pubrel' ? pubrelKey(packet.messageId) : keyOf(packet))) return;
        throw error;
      });
      // Not awaited: the message being sent must not wait for the drop, or the next one could overtake it.
      if (drops.length > 0) void updated.then(() => this.clearAll(drops), () => this.clearAll(drops));
      return updated;
    };

    // Acknowledged (PUBACK, PUBCOMP) or cleared by Aedes.
    persistence.outgoingClearMessageId = async (client, packet) => {
      const cleared = await original.outgoingClearMessageId(client, packet);
      if (cleared) this.release(client.id, cleared.brokerId !== undefined ? keyOf(cleared) : null, packet.messageId);
      return cleared;
    };

    // A clean session with this id ends the persistent one (Aedes clears its queue).
    aedes.on('client', (client) => {
      if (client.clean) this.forget(client.id);
      else this.here.add(client.id);
    });
    aedes.on('clientDisconnect', (client) => {
      this.here.delete(client.id);
      this.dropped.delete(client.id);
    });
  }

  private original!: OutgoingQueue;

  /**
   * Counts what sessions kept on disk hold at start (call after install): a session over its caps (lowered since,
   * say) loses its oldest messages as it would have while the broker ran.
   */
  async countStored(owed: Iterable<[clientId: string, packets: readonly object[]]>): Promise<void> {
    const drops: Drop[] = [];
    for (const [id, packets] of owed) {
      for (const packet of packets as Queued[]) if (packet.cmd === 'publish' && packet.brokerId !== undefined) drops.push(...this.hold(id, packet));
    }
    await this.clearAll(drops);
  }

  /** Counts `packet` as held by session `id`; returns the messages to drop to bring it back under its caps. */
  private hold(id: string, packet: Queued): Drop[] {
    let ledger = this.sessions.get(id);
    if (!ledger) this.sessions.set(id, (ledger = { held: new Map(), bytes: 0, logged: false }));
    const key = keyOf(packet);
    if (ledger.held.has(key)) return [];
    const bytes = payloadBytes(packet);
    ledger.held.set(key, { bytes, messageId: packet.messageId });
    ledger.bytes += bytes;
    const drops: Drop[] = [];
    const { maxQueuedMessages, maxQueuedBytes } = this.limits;
    while (ledger.held.size > maxQueuedMessages || ledger.bytes > maxQueuedBytes) {
      const cap = ledger.held.size > maxQueuedMessages ? 'queued_messages' : 'queued_bytes';
      const [oldestKey, oldest] = ledger.held.entries().next().value as [string, Held];
      ledger.held.delete(oldestKey);
      ledger.bytes -= oldest.bytes;
      this.markDropped(id, oldestKey);
      drops.push({ clientId: id, key: oldestKey, messageId: oldest.messageId, cap, log: !ledger.logged });
      ledger.logged = true;
    }
    if (drops.length === 0) ledger.logged = false;
    if (ledger.held.size === 0) this.sessions.delete(id);
    return drops;
  }

  /** A message left session `id` (by its key, or else its packet id: a PUBREL that replaced it carries no key). */
  private release(id: string, key: string | null, messageId: number | undefined): void {
    const ledger = this.sessions.get(id);
    if (!ledger) return;
    const found = key !== null && ledger.held.has(key) ? key : [...ledger.held].find(([, h]) => h.messageId !== undefined && h.messageId === messageId)?.[0];
    if (found === undefined) return;
    ledger.bytes -= ledger.held.get(found)!.bytes;
    ledger.held.delete(found);
    if (ledger.held.size === 0) this.sessions.delete(id);
  }

  private markDropped(id: string, key: string): void {
    if (!this.here.has(id)) return; // offline: nothing is on its way
    let keys = this.dropped.get(id);
    if (!keys) this.dropped.set(id, (keys = new Set()));
    keys.add(key);
    // Each is taken out as its sending comes by, a moment later; the bound is for one that never does.
    if (keys.size > DROPPED_KEPT) keys.delete(keys.values().next().value!);
  }

  private forget(id: string): void {
    this.sessions.delete(id);
    this.dropped.delete(id);
  }

  private async clearAll(drops: Drop[]): Promise<void> {
    for (const drop of drops) {
      try {
        await this.clear(drop);
      } catch (error) {
        this.warnings.warn({ event: 'cap_drop_failed', clientId: drop.clientId, err: String(error) }, `Could not drop a message kept for ${printable(drop.clientId)}: ${printable(String(error))}`);
        continue;
      }
      this.metrics.capsHit[drop.cap] += 1;
      if (!drop.log) continue;
      const [limit, flag] = drop.cap === 'queued_messages' ? [this.limits.maxQueuedMessages, '--max-queued-messages'] : [`${this.limits.maxQueuedBytes} bytes`, '--max-queued-bytes'];
      this.warnings.warn({ event: 'cap_hit', cap: drop.cap, clientId: drop.clientId }, `Dropping the oldest messages kept for session ${printable(drop.clientId)}, unacknowledged or queued (limit ${limit}, ${flag}); counted in /metrics`);
    }
  }

  /**
   * Removes one message from the persistence the way Aedes does once it is acknowledged: by its packet id, which
   * one never sent first gets (outgoingUpdate; with the whole packet, as Redis stores what it is given).
   */
  private async clear({ clientId, key, messageId }: Drop): Promise<void> {
    const client = { id: clientId };
    if (messageId !== undefined) {
      // In flight: a QoS 2 subscriber may still answer it with PUBREC, whose PUBREL then has nothing to replace.
      this.markDropped(clientId, pubrelKey(messageId));
      await this.original.outgoingClearMessageId(client, { messageId });
      return;
    }
    let count = 0;
    for await (const packet of this.original.outgoingStream(client)) {
      if (keyOf(packet) === key) {
        const marked: Queued = Object.assign(Object.create(Object.getPrototypeOf(packet)) as Queued, packet);
        if (marked.messageId === undefined) {
          marked.messageId = this.freeId(clientId);
          await this.original.outgoingUpdate(client, marked);
        }
        await this.original.outgoingClearMessageId(client, marked);
        return;
      }
      // It is among the oldest: past twice the cap, it was already cleared (acknowledged meanwhile).
      if (++count > 2 * this.limits.maxQueuedMessages) return;
    }
  }

  /** A packet id none of the session's messages in flight has (DROP_ID unless taken). */
  private freeId(clientId: string): number {
    const taken = new Set([...(this.sessions.get(clientId)?.held.values() ?? [])].map((h) => h.messageId));
    let id = DROP_ID;
    while (taken.has(id) && id > 1) id -= 1;
    return id;
  }
}

interface Drop {
  clientId: string;
  key: string;
  messageId: number | undefined;
  cap: 'queued_messages' | 'queued_bytes';
  /** The first drop of an episode: logged. */
  log: boolean;
}

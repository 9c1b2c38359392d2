/**
 * What the durable store keeps of a persistent session besides its subscriptions and messages: who owns it (so
 * that after a restart no other user can take its client id, its queued messages or its place in the sessions
 * cap) and when it expires (MQTT 5's Session Expiry Interval, counted from its disconnect; a session whose
 * client was connected when the broker stopped counts from the restart). The wills of clients connected when the
 * broker stopped are published at start: their connections ended with the broker, without a DISCONNECT.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import { keepForwardedProperties } from '../admission/publish-properties';
import { clientHolding } from '../client-info';
import { requireInternal } from '../library-internals';
import { printable, type Logger } from '../log';
import type { DurablePersistence } from './durable-persistence';
import { keys, type StoredPacket } from './records';

/** MQTT 5's "never expires" (and every MQTT 3.1.1 persistent session). */
const NEVER = 0xffff_ffff;
/** The longest a timer may wait (setTimeout's limit); a later expiry is looked at again then. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

interface SessionRecord {
  username: string | null;
  /** Whom the sessions cap counts it for ("user NAME", "address A"), or null. */
  owner: string | null;
  /** Session Expiry Interval in seconds; null: never. */
  expiryS: number | null;
  /** When its client disconnected (ms since the epoch); null while connected. */
  disconnectedAt: number | null;
}

export interface SessionOwnership {
  usernameOf(client: Client): string | null;
  ownerOf(clientId: string): string | undefined;
  restore(clientId: string, record: { username: string | null; owner: string | null }): void;
  /** A session found at start has ended (expired): its place in its owner's sessions cap is free. */
  release(clientId: string): void;
  /**
   * Why the will a client left when the broker stopped may not be published now, or null: it is checked as that
   * client's publish would be today (its user still in the users file, today's rights and limits).
   */
  willRefusal(clientId: string, username: string | null, will: PublishPacket): string | null;
}

export class StoredSessions {
  /** Sessions found at start that expire, by client id: their expiry, in ms since the epoch. */
  private readonly expiring = new Map<string, number>();
  /** Ends the next of them to expire, when it does (Aedes times only the sessions it saw disconnect itself). */
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Wills found at start whose MQTT 5 Will Delay Interval runs yet, by client id: published at its end unless their client is back. */
  private readonly delayedWills = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly persistence: DurablePersistence,
    private readonly ownership: SessionOwnership,
    private readonly log: Logger,
  ) {}

  /** Restores the sessions found at start, publishes the wills left behind, then keeps every session's record. */
  async install(aedes: Aedes): Promise<void> {
    const now = Date.now();
    for (const [clientId, value] of this.persistence.sessionsFromBefore) {
      const record = value as unknown as SessionRecord;
      const expiresAt = record.expiryS === null ? null : (record.disconnectedAt ?? now) + record.expiryS * 1000;
      if (expiresAt !== null && expiresAt <= now) {
        await this.forget(clientId);
        continue;
      }
      this.ownership.restore(clientId, record);
      if (expiresAt !== null) this.expiring.set(clientId, expiresAt);
      // Connected when the broker stopped: its expiry counts from now.
      if (record.disconnectedAt === null) this.persistence.setSession(clientId, { ...record, disconnectedAt: now });
    }
    await this.publishWillsFromBefore(aedes);

    aedes.on('client', (client) => {
      this.expiring.delete(client.id);
      this.cancelDelayedWill(client);
      if (client.clean) return this.persistence.setSession(client.id, null);
      const record: SessionRecord = {
        username: this.ownership.usernameOf(client),
        owner: this.ownership.ownerOf(client.id) ?? null,
        expiryS: client.version === 5 && client.sessionExpiryInterval < NEVER ? client.sessionExpiryInterval : null,
        disconnectedAt: null,
      };
      this.persistence.setSession(client.id, record);
    });
    aedes.on('clientDisconnect', (client) => {
      const live = clientHolding(aedes, client.id);
      if (live !== undefined && live !== client) return; // taken over: the new connection's record stands
      if (client.clean) return this.persistence.setSession(client.id, null);
      const expiryS = client.version === 5 && client.sessionExpiryInterval < NEVER ? client.sessionExpiryInterval : null;
      this.persistence.setSession(client.id, { username: this.ownership.usernameOf(client), owner: this.ownership.ownerOf(client.id) ?? null, expiryS, disconnectedAt: Date.now() });
    });
    aedes.on('sessionExpired' as 'client', (client: Client) => this.persistence.setSession(client.id, null));

    // A session found at start that expired since is ended before its client id connects again, not at the next
    // sweep: else the client would get it back (CONNACK session present, its old messages).
    type PreConnect = (client: Client, packet: { clientId?: string }, done: (error: Error | null, ok: boolean) => void) => void;
    const hooks = aedes as unknown as { preConnect: PreConnect };
    requireInternal(typeof hooks.preConnect === 'function', 'aedes', 'Aedes#preConnect');
    const preConnect = hooks.preConnect.bind(aedes);
    hooks.preConnect = (client, packet, done) => {
      const clientId = packet.clientId ?? '';
      const expiresAt = this.expiring.get(clientId);
      if (expiresAt === undefined || expiresAt > Date.now()) return preConnect(client, packet, done);
      this.expiring.delete(clientId);
      this.forget(clientId).then(
        () => preConnect(client, packet, done),
        (error: unknown) => done(error as Error, false),
      );
    };

    this.armTimer(aedes);
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    // Their wills stay on disk: the next start times them again.
    for (const timer of this.delayedWills.values()) clearTimeout(timer);
    this.delayedWills.clear();
  }

  /** Its client is back within the delay: the session goes on, and its will is not sent ([MQTT-3.1.3-9]). */
  private cancelDelayedWill(client: Client): void {
    const timer = this.delayedWills.get(client.id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.delayedWills.delete(client.id);
    // A will of the new connection was written over it already (before its CONNACK): only none is removed.
    if (!(client as Client & { will?: unknown }).will) this.persistence.group.delete(keys.will(client.id));
  }

  /** Sets the timer for the next expiry among the sessions found at start (a session back online left the list). */
  private armTimer(aedes: Aedes): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.closed || this.expiring.size === 0) return;
    let next = Infinity;
    for (const expiresAt of this.expiring.values()) next = Math.min(next, expiresAt);
    this.timer = setTimeout(() => void this.expireDue(aedes).finally(() => this.armTimer(aedes)), Math.min(LONGEST_WAIT_MS, Math.max(0, next - Date.now())));
    this.timer.unref();
  }

  private async expireDue(aedes: Aedes): Promise<void> {
    const now = Date.now();
    for (const [clientId, expiresAt] of this.expiring) {
      if (expiresAt > now) continue;
      this.expiring.delete(clientId);
      if (clientHolding(aedes, clientId) !== undefined) continue; // back online: Aedes times it from its next disconnect
      await this.forget(clientId).catch((error: unknown) => this.log.warn({ event: 'store_expiry_failed', clientId, err: String(error) }, `Could not end the expired session ${printable(clientId)}: ${printable(String(error))}`));
    }
  }

  private async forget(clientId: string): Promise<void> {
    await this.persistence.forgetSession(clientId);
    this.ownership.release(clientId);
    this.log.info({ event: 'session_expired', clientId }, `Session ${printable(clientId)} expired while the broker was stopped or since: its subscriptions and messages are gone`);
  }

  /**
   * Each will is published as its client's connection ended without a DISCONNECT, then removed; one its client's
   * user could not publish today (removed from the users file, denied by the ACL, over a lowered limit) is dropped
   * with a line: Aedes's publish checks nothing, and the will was checked only against the rights of its CONNECT.
   */
  private async publishWillsFromBefore(aedes: Aedes): Promise<void> {
    for (const will of this.persistence.willsFromBefore) {
      const clientId = String(will.clientId);
      // MQTT 5's Will Delay Interval counts from the connection's end, which was this start; the session's end
      // (its expiry) sends the will sooner, and a clean session's is now.
      const record = this.persistence.sessionsFromBefore.get(clientId) as SessionRecord | undefined;
      const sessionS = record === undefined ? 0 : (record.expiryS ?? Infinity);
      const delayS = Math.min(Number((will.properties as { willDelayInterval?: number } | undefined)?.willDelayInterval ?? 0), sessionS);
      if (delayS > 0) {
        const timer = setTimeout(() => {
          this.delayedWills.delete(clientId);
          if (clientHolding(aedes, clientId) === undefined) void this.publishWillFromBefore(aedes, will);
        }, Math.min(LONGEST_WAIT_MS, delayS * 1000));
        timer.unref();
        this.delayedWills.set(clientId, timer);
        continue;
      }
      await this.publishWillFromBefore(aedes, will);
    }
    this.persistence.willsFromBefore.length = 0;
    await this.persistence.group.durable();
  }

  private async publishWillFromBefore(aedes: Aedes, will: StoredPacket): Promise<void> {
    const clientId = String(will.clientId);
    const username = typeof will.username === 'string' ? will.username : null;
    const packet = { cmd: 'publish' as const, topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false, ...(will.properties !== undefined && { properties: will.properties }) } as PublishPacket;
    this.persistence.group.delete(keys.will(clientId));
    const refused = this.ownership.willRefusal(clientId, username, packet);
    if (refused !== null) {
      this.log.warn(
        { event: 'will_dropped', clientId, username, topic: will.topic, reason: refused },
        `Dropped the will of ${printable(clientId)} on ${printable(will.topic)}, kept when the broker stopped: ${printable(refused)}`,
      );
      return;
    }
    keepForwardedProperties(packet);
    await new Promise<void>((resolve) => aedes.publish(packet, () => resolve()));
    this.log.info({ event: 'will_published', clientId, topic: will.topic, reason: 'broker_restarted' }, `Published the will of ${printable(clientId)} on ${printable(will.topic)}: it was connected when the broker stopped`);
  }
}

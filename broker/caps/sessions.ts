import { HOOK_FAILED } from '../hook-guard';
import { requireInternal } from '../library-internals';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { clientHolding, remoteAddressOf } from '../client-info';
import { LogLimiter, printable, quoted, type Logger } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { Limits } from '../security/limits';
import type { Identity } from '../security/rights';

/**
 * Bounds the persistent sessions (clean=false) one user holds to `maxSessionsPerUser`; anonymous clients are
 * counted per remote address (they have no other name, and an address is what the connection caps count too).
 * A session is counted from its first CONNECT until a clean CONNECT with its id ends it (MQTT 3.1.1 has no
 * session expiry). Past the cap a CONNECT for a new persistent session is refused with CONNACK 3 "server
 * unavailable": the login was right, the broker just keeps no more sessions for it (5 "not authorized" would
 * read as a bad password), and the sessions it has, and reconnects to them, are untouched. Counted in /metrics
 * (mqlive_caps_hit_total{cap="sessions_per_user"}), logged as cap_hit. Per instance with --redis.
 */
export class SessionCap {
  /** Session id → its owner ("user NAME" or "address A"); owner → its session ids. */
  private readonly ownerOfSession = new Map<string, string>();
  private readonly sessionsOf = new Map<string, Set<string>>();
  /** Sessions counted at their login whose CONNECT Aedes has not yet finished ('client' event). */
  private readonly unconfirmed = new Set<string>();

  private readonly warnings: LogLimiter;

  constructor(
    private readonly limits: Pick<Limits, 'maxSessionsPerUser'>,
    private readonly metrics: BrokerMetrics,
    log: Logger,
    private readonly identityOf: (client: Client) => Identity | undefined,
  ) {
    this.warnings = new LogLimiter(log);
  }

  /** Checks each CONNECT once mqlive's authenticate hook has let it in. */
  install(aedes: Aedes): void {
    const authenticate = aedes.authenticate;
    requireInternal(typeof authenticate === 'function', 'aedes', 'Aedes#authenticate (to cap sessions per user)');
    // Emitted after Aedes cleared a clean client's stored session (lib/handlers/connect.js: fetchSubs, then registerClient).
    aedes.on('client', (client) => {
      this.unconfirmed.delete(client.id);
      if (client.clean) this.end(client.id);
    });
    // An MQTT 5 session also ends when its Session Expiry Interval runs out while it is offline, and with its
    // connection when its DISCONNECT set the interval to 0 (Aedes then marks it clean) — unless the id is already
    // another connection's (a takeover: that one's session is counted, or waits for its 'client' event).
    aedes.on('sessionExpired' as 'client', (client) => this.end(client.id));
    aedes.on('clientDisconnect', (client) => {
      const live = clientHolding(aedes, client.id);
      if (client.clean && !this.unconfirmed.has(client.id) && (live === undefined || live === client)) this.end(client.id);
    });
    aedes.authenticate = (client, username, password, done) =>
      authenticate.call(aedes, client, username, password, (error, ok) => {
        if (error || !ok) return done(error, ok);
        let refused: string | null;
        try {
          refused = this.admit(client);
        } catch (fault) {
          refused = 'the session could not be counted';
          this.metrics.hookFaults += 1;
          this.warnings.warn({ event: HOOK_FAILED, hook: 'authenticate (sessions per user)', clientId: client.id, err: String(fault) }, `Refused a persistent session: ${printable(String(fault))}`);
        }
        // Its socket closed during the login: Aedes stores nothing for it, so a place it just took is free again.
        if (!refused && client.closed && this.unconfirmed.delete(client.id)) this.end(client.id);
        if (!refused) return done(null, true);
        done(Object.assign(new Error(refused), { returnCode: 3 }) as AuthenticateError, false);
      });
  }

  /** Counts the session a client asks for; returns why it is refused, or null. */
  admit(client: Client): string | null {
    const id = client.id;
    // A clean CONNECT ends the session only once Aedes has cleared it (the 'client' event, in install): one whose
    // socket closes right after its login would otherwise free a place while its session stays stored.
    if (client.clean) return null;
    const identity = this.identityOf(client);
    const remote = remoteAddressOf(client)?.replace(/^::ffff:(?=\d+\.)/, '') ?? 'unknown';
    // This machine's own anonymous clients (the default: anonymous only on loopback) are one trusted user, as
    // everywhere in mqlive: capping them would cap every tool on the machine together.
    if (identity?.username == null && isLoopback(remote)) return null;
    const owner = identity?.username != null ? `user ${identity.username}` : `address ${remote}`;
    if (this.ownerOfSession.get(id) === owner) return null; // its own session, back
    const held = this.sessionsOf.get(owner)?.size ?? 0;
    if (held >= this.limits.maxSessionsPerUser) {
      this.metrics.capsHit.sessions_per_user += 1;
      const who = identity?.username != null ? `user ${printable(identity.username)}` : `anonymous clients from ${remote}`;
      const why = `${who} already holds ${held} persistent sessions (limit ${this.limits.maxSessionsPerUser}, --max-sessions-per-user)`;
      this.warnings.warn(
        { event: 'cap_hit', cap: 'sessions_per_user', clientId: id, username: identity?.username ?? null, remote },
        `Refused a persistent session for ${quoted(id)}: ${why}`,
      );
      return why;
    }
    this.end(id); // another owner's session with this id (an admin may take any id over) is now this one's
    this.unconfirmed.add(id);
    this.ownerOfSession.set(id, owner);
    let sessions = this.sessionsOf.get(owner);
    if (!sessions) this.sessionsOf.set(owner, (sessions = new Set()));
    sessions.add(id);
    return null;
  }

  /** Who session `id` is counted for ("user NAME", "address A"), or undefined (not counted: this machine's anonymous clients). */
  ownerOf(id: string): string | undefined {
    return this.ownerOfSession.get(id);
  }

  /** Counts a session kept on disk for the owner it had when the broker last stopped. */
  restore(id: string, owner: string): void {
    this.ownerOfSession.set(id, owner);
    let sessions = this.sessionsOf.get(owner);
    if (!sessions) this.sessionsOf.set(owner, (sessions = new Set()));
    sessions.add(id);
  }

  /** A session counted by restore() has ended (it expired while its client was away). */
  release(id: string): void {
    this.end(id);
  }

  private end(id: string): void {
    this.unconfirmed.delete(id);
    const owner = this.ownerOfSession.get(id);
    if (owner === undefined) return;
    this.ownerOfSession.delete(id);
    const sessions = this.sessionsOf.get(owner)!;
    sessions.delete(id);
    if (sessions.size === 0) this.sessionsOf.delete(owner);
  }
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

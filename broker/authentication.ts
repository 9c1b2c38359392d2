import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import { idProblem } from '../protocol';
import { LogLimiter, printable, quoted, type Logger } from './log';
import type { BrokerMetrics } from './metrics';
import { remoteAddressOf } from './client-info';
import type { Cluster } from './cluster/cluster';
import type { OwnerCheck } from './cluster/connection-claims';
import { needsSession, refuseWhileRedisDown } from './outage-admission';
import { ClientIdOwners, UNSAFE_ID_CHARACTERS } from './security/client-ids';
import { FailedLogins, type Lockout } from './security/failed-logins';
import type { Limits } from './security/limits';
import type { Identity } from './security/rights';
import { verifyPassword, type UsersFile } from './security/users';

export interface LoginPolicy {
  /** Null: no users file, every client is anonymous. */
  users: UsersFile | null;
  /** With a users file: whether clients without credentials may connect (with a viewer's rights). */
  allowAnonymous: boolean;
}

/** Why a client may not leave this will (its topic or payload would be refused as a publish), or null. */
export type WillCheck = (client: Client, identity: Identity, will: PublishPacket) => string | null;

/** Checked for an unknown user name too, so the answer takes as long either way. */
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function connackError(returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * Who a client is: Aedes's preConnect and authenticate hooks. With a users file, clients log in (scrypt
 * hashes) and get their role; a user name (or an address) with too many failed logins is refused without a
 * check (FailedLogins); a client id that is another user's is refused (ClientIdOwners). Each admitted
 * client's identity is kept in `identities` for the rights checks.
 */
export class Authentication {
  readonly identities = new WeakMap<Client, Identity>();
  private readonly emptyIdWithSession = new WeakSet<Client>();
  private readonly failedLogins: FailedLogins;
  private readonly warnings: LogLimiter;
  private readonly owners: ClientIdOwners | null;
  private readonly wills = new WeakMap<Client, PublishPacket>();
  /** Clients that asked for a session kept after they go, or to resume one (outage-admission.ts needsSession). */
  private readonly wantsSession = new WeakSet<Client>();
  /** With Redis: the owners, lockouts and connections shared by every instance (cluster/). */
  cluster: Cluster | null = null;
  /** Clients let in while Redis could not say whose their id is: asked once it can, before their id is claimed. */
  readonly ownerCheckLater = new WeakMap<Client, OwnerCheck>();

  constructor(
    private readonly policy: LoginPolicy,
    private readonly limits: Pick<Limits, 'maxFailedLoginsPerUser' | 'maxFailedLoginsPerAddress' | 'maxKeepaliveSeconds'>,
    private readonly log: Logger,
    private readonly metrics: BrokerMetrics,
    private readonly willCheck: WillCheck = () => null,
    now: () => number = Date.now,
  ) {
    this.warnings = new LogLimiter(log);
    this.failedLogins = new FailedLogins(limits, 60_000, now);
    this.owners = policy.users ? new ClientIdOwners(policy.users) : null;
  }

  /** A persistent session kept on disk keeps its owner across a restart: nobody else may take its id. */
  restoreOwner(clientId: string, username: string): void {
    this.owners?.restore(clientId, username);
  }

  readonly preConnect: NonNullable<AedesOptions['preConnect']> = (client, packet, done) => {
    // MQTT 5 Server Keep Alive: a longer keep alive (or none) is cut to the limit and said in CONNACK. Aedes reads
    // this field when it sets the keep-alive timer and writes the CONNACK (lib/handlers/connect.js).
    const limit = this.limits.maxKeepaliveSeconds;
    if (packet.protocolVersion === 5 && (!packet.keepalive || packet.keepalive > limit)) (client as unknown as { _serverKeepAlive?: number })._serverKeepAlive = limit;
    // MQTT 5 assigns an id instead (Assigned Client Identifier in CONNACK).
    if (packet.clientId === '' && packet.clean === false && packet.protocolVersion !== 5) this.emptyIdWithSession.add(client);
    if (packet.will) this.wills.set(client, { cmd: 'publish', dup: false, ...packet.will } as PublishPacket);
    if (needsSession(packet)) this.wantsSession.add(client);
    done(null, true);
  };

  readonly authenticate: NonNullable<AedesOptions['authenticate']> = (client, username, password, done) => {
    if (this.emptyIdWithSession.has(client)) {
      // [MQTT-3.1.3-8] CONNACK 0x02 "identifier rejected"
      return done(connackError(2, 'a client without an id must ask for a clean session'), false);
    }
    const { users, allowAnonymous } = this.policy;
    const anonymous: Identity = { clientId: client.id, username: null, role: 'anonymous' };
    if (!users) return this.admit(client, anonymous, done);
    if (UNSAFE_ID_CHARACTERS.test(client.id)) {
      const why = 'a client id may not contain +, # or / on a broker with users';
      this.warnings.warn({ event: 'client_id_refused', clientId: client.id, username }, `Refused client id ${quoted(client.id)} (user ${printable(username ?? 'anonymous')}): ${why}`);
      return done(connackError(2, why), false);
    }
    if (username === undefined) {
      if (allowAnonymous) return this.admit(client, anonymous, done);
      return done(connackError(5, 'this broker needs a user name and password'), false);
    }

    const address = remoteAddressOf(client) ?? 'unknown';
    const refuse = () => {
      this.metrics.failedLogins += 1;
      this.warnings.warn({ event: 'login_failed', remote: address, username }, `Failed login as ${quoted(username)} from ${address}`);
      done(connackError(4, 'bad user name or password'), false);
    };
    // Names that cannot be a user's share one window, so long or many made-up names cannot grow the table.
    const counted = idProblem(username) ? '(not a user name)' : username;
    const user = users.users[username];
    // Returned, so that hook-guard.ts sees a throw in what follows (it comes a turn later or more).
    return this.loginAttempt(address, counted).then((lockout) => {
      if (lockout) {
        if (lockout.firstTime) {
          const whom = lockout.scope === 'user' ? `logins as ${quoted(username)} from ${address}` : `logins from ${address}`;
          this.log.warn({ event: 'login_locked_out', remote: address, username, scope: lockout.scope }, `Locked out ${whom} for ${this.failedLogins.windowMs / 1000} s: ${lockout.failures} failed logins`);
        }
        return refuse();
      }
      return verifyPassword(password?.toString('utf8') ?? '', user?.password ?? DUMMY_HASH).then(
        (ok) => {
          if (!ok || !user) return refuse();
          this.loginSucceeded(address, counted);
          return this.admit(client, { clientId: client.id, username, role: user.role }, done);
        },
        () => refuse(),
      );
    });
  };

  /** Counts a login attempt: on every instance's count with Redis, on this instance's while Redis cannot answer. */
  private async loginAttempt(address: string, user: string): Promise<Lockout | null> {
    if (this.cluster) {
      try {
        return await this.cluster.logins.attempt(address, user);
      } catch {
        // Redis away: counted here alone until it is back
      }
    }
    return this.failedLogins.attempt(address, user);
  }

  private loginSucceeded(address: string, user: string): void {
    this.failedLogins.succeeded(address, user);
    this.cluster?.logins.succeeded(address, user).catch(() => undefined);
  }

  /**
   * Lets an identified client in, unless its will is one it could not publish itself (a will is published by the
   * broker later, with no client to check it against: with Redis, by another instance), or its client id is
   * another user's (security/client-ids.ts).
   */
  private admit(client: Client, identity: Identity, done: Parameters<NonNullable<AedesOptions['authenticate']>>[3]): Promise<void> | void {
    const will = this.wills.get(client);
    const badWill = will && this.willCheck(client, identity, will);
    if (badWill) {
      this.warnings.warn({ event: 'will_refused', clientId: client.id, username: identity.username, topic: will.topic, reason: badWill }, `Refused ${quoted(client.id)}: its will on ${printable(will.topic)} would be refused (${printable(badWill)})`);
      return done(connackError(5, `a will on ${will.topic} is not allowed: ${badWill}`), false);
    }
    const refuseId = (taken: string) => {
      const who = identity.username === null ? 'an anonymous client' : printable(identity.username);
      this.warnings.warn({ event: 'client_id_refused', clientId: client.id, username: identity.username, reason: taken }, `Refused client id ${quoted(client.id)} to ${who}: ${taken}`);
      done(connackError(5, `client id ${client.id} ${taken}`), false);
    };
    const taken = this.owners?.whyNot(identity);
    if (taken) return refuseId(taken);
    const letIn = () => {
      this.owners?.remember(identity);
      this.identities.set(client, identity);
      done(null, true);
    };
    if (!this.cluster) return letIn();
    return this.ownerAcrossInstances(this.cluster, client, identity).then((verdict) => {
      if (verdict === 'ok') return letIn();
      if (verdict !== 'unavailable') return refuseId(verdict.taken);
      refuseWhileRedisDown(this.warnings, client, done);
    });
  }

  /**
   * The client id's owner across instances (cluster/; its connection is claimed after every other check, by
   * cluster/connection-claims.ts). When Redis cannot answer, a clean-session client is let in on what this
   * instance knows, its owner asked once Redis is back; a client that needs its session kept is refused at once:
   * the session lives in Redis.
   */
  private async ownerAcrossInstances(cluster: Cluster, client: Client, identity: Identity): Promise<'ok' | { taken: string } | 'unavailable'> {
    // A device's reserved id is decided by the users file, as on one broker (whyNot, above): recorded in Redis as an
    // admin's, it would lock its device out of it.
    if (!this.owners || this.owners.isReserved(client.id)) return 'ok';
    try {
      const taken = await cluster.owners.claim(identity);
      return taken ? { taken } : 'ok';
    } catch {
      if (this.wantsSession.has(client)) return 'unavailable';
      this.ownerCheckLater.set(client, () => cluster.owners.claim(identity));
      return 'ok';
    }
  }

  /** Whether the client asked for a session kept after it goes, or to resume one. */
  needsSession(client: Client): boolean {
    return this.wantsSession.has(client);
  }
}

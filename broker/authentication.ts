import type { AedesOptions, AuthenticateError, Client } from 'aedes';
import { LogLimiter, type Logger } from './log';
import type { BrokerMetrics } from './metrics';
import { remoteAddressOf } from './client-info';
import { FailedLogins } from './security/limits';
import type { Identity } from './security/rights';
import { verifyPassword, type UsersFile } from './security/users';

export interface LoginPolicy {
  /** Null: no users file, every client is anonymous. */
  users: UsersFile | null;
  /** With a users file: whether clients without credentials may connect (with a viewer's rights). */
  allowAnonymous: boolean;
}

/** Checked for an unknown user name too, so the answer takes as long either way. */
const DUMMY_HASH = 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function connackError(returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * Who a client is: Aedes's preConnect and authenticate hooks. With a users file, clients log in (scrypt
 * hashes) and get their role; an address with too many failed logins is refused without a check. Each
 * admitted client's identity is kept in `identities` for the rights checks.
 */
export class Authentication {
  readonly identities = new WeakMap<Client, Identity>();
  private readonly emptyIdWithSession = new WeakSet<Client>();
  private readonly failedLogins: FailedLogins;
  private readonly warnings: LogLimiter;

  constructor(
    private readonly policy: LoginPolicy,
    log: Logger,
    private readonly metrics: BrokerMetrics,
    now: () => number = Date.now,
  ) {
    this.warnings = new LogLimiter(log);
    this.failedLogins = new FailedLogins(10, 60_000, now);
  }

  readonly preConnect: NonNullable<AedesOptions['preConnect']> = (client, packet, done) => {
    if (packet.clientId === '' && packet.clean === false) this.emptyIdWithSession.add(client);
    done(null, true);
  };

  readonly authenticate: NonNullable<AedesOptions['authenticate']> = (client, username, password, done) => {
    if (this.emptyIdWithSession.has(client)) {
      // [MQTT-3.1.3-8] CONNACK 0x02 "identifier rejected"
      return done(connackError(2, 'a client without an id must ask for a clean session'), false);
    }
    const { users, allowAnonymous } = this.policy;
    const anonymous: Identity = { clientId: client.id, username: null, role: 'anonymous' };
    if (!users || (username === undefined && allowAnonymous)) {
      this.identities.set(client, anonymous);
      return done(null, true);
    }
    if (username === undefined) return done(connackError(5, 'this broker needs a user name and password'), false);

    const address = remoteAddressOf(client) ?? 'unknown';
    const refuse = () => {
      this.failedLogins.record(address);
      this.metrics.failedLogins += 1;
      this.warnings.warn({ remote: address, username }, `Failed login as "${username}" from ${address}`);
      done(connackError(4, 'bad user name or password'), false);
    };
    if (this.failedLogins.lockedOut(address)) return refuse();
    const user = users.users[username];
    verifyPassword(password?.toString('utf8') ?? '', user?.password ?? DUMMY_HASH).then(
      (ok) => {
        if (!ok || !user) return refuse();
        this.identities.set(client, { clientId: client.id, username, role: user.role });
        done(null, true);
      },
      () => refuse(),
    );
  };
}

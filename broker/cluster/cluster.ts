/**
 * The rules that make several instances on one Redis one broker (issue 31): one connection per client id
 * (connection-claims.ts), client-id owners (shared-id-owners.ts) and login lockouts (shared-failed-logins.ts)
 * across instances. Each is asked at CONNECT on a Redis connection that does not queue commands while Redis is
 * away: a question Redis cannot answer fails at once, and the caller decides (authentication.ts: a clean-session
 * client is let in on what this instance knows, a persistent one is refused with "server unavailable").
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import type { Limits } from '../security/limits';
import { ConnectionClaims, DEFAULT_CLAIM_TIMINGS, type ClaimTimings } from './connection-claims';
import { SharedFailedLogins } from './shared-failed-logins';
import { SharedIdOwners } from './shared-id-owners';

export interface ClusterLink {
  /** For questions: no offline queue, a short command timeout. */
  commands: Redis;
  /** Subscribed to the takeover channel. */
  subscriber: Redis;
}

export class Cluster {
  readonly claims: ConnectionClaims;
  readonly owners: SharedIdOwners;
  readonly logins: SharedFailedLogins;

  constructor(link: ClusterLink, limits: Pick<Limits, 'maxFailedLoginsPerUser' | 'maxFailedLoginsPerAddress'>, log: Logger, timings: ClaimTimings = DEFAULT_CLAIM_TIMINGS) {
    this.claims = new ConnectionClaims(link.commands, link.subscriber, log, timings);
    this.owners = new SharedIdOwners(link.commands);
    this.logins = new SharedFailedLogins(link.commands, limits);
  }
}

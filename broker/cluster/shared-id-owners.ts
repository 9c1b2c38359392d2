/**
 * Client-id owners kept in Redis, so that the rule of security/client-ids.ts holds across instances: an id
 * belongs to the first user who connects with it, and only that user (or an admin) may use it after, on any
 * instance. Anonymous clients own nothing. A record lives `ttlMs` after the id's last use by its owner (30 days):
 * an id nobody used for that long is free again, as one the single broker's bounded table forgot.
 */
import type { Redis } from 'ioredis';
import type { Identity } from '../security/rights';

const PREFIX = 'mqlive:owner:';
export const OWNER_TTL_MS = 30 * 24 * 3600 * 1000;

// ARGV: the user name ('' anonymous), '1' for an admin, the record's life. The owner that refuses, or '' (the id
// is then the user's, its life renewed; an admin's use leaves it its owner's).
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then
  if ARGV[2] == '1' then return '' end
  return owner
end
if ARGV[1] ~= '' then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) end
return ''`;

export class SharedIdOwners {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs = OWNER_TTL_MS,
  ) {}

  /** Why `identity` may not use its client id (its owner's name), or null. Rejects when Redis cannot be asked. */
  async claim(identity: Identity): Promise<string | null> {
    const owner = (await this.redis.eval(CLAIM, 1, PREFIX + identity.clientId, identity.username ?? '', identity.role === 'admin' ? '1' : '0', this.ttlMs)) as string;
    return owner === '' ? null : `it belongs to ${owner}`;
  }
}

/**
 * Failed logins counted in Redis, so that a lockout earned on one instance holds on all: the same fixed windows,
 * limits and scopes as security/failed-logins.ts (per address and user name, and per address), each count a key
 * that expires with its window. An attempt is counted before its password is checked, in one step with the
 * check of the limits, so attempts sent at once to several instances cannot race past them either.
 */
import type { Redis } from 'ioredis';
import type { Limits } from '../security/limits';
import type { Lockout } from '../security/failed-logins';

const PREFIX = 'mqlive:login:';

// KEYS: the address's count, the (address, user) count. ARGV: max per user, max per address, window ms.
// Returns {scope, failures, firstTime} for a lockout, or {''} when the attempt is counted and may go on.
const ATTEMPT = `
local function locked(scope, key, count)
  local ttl = redis.call('PTTL', key)
  if ttl < 1 then ttl = ARGV[3] end
  local first = redis.call('SET', key .. ':told', '1', 'NX', 'PX', ttl) and 1 or 0
  return { scope, count, first }
end
local perAddress = tonumber(redis.call('GET', KEYS[1]) or '0')
if perAddress >= tonumber(ARGV[2]) then return locked('address', KEYS[1], perAddress) end
local perUser = tonumber(redis.call('GET', KEYS[2]) or '0')
if perUser >= tonumber(ARGV[1]) then return locked('user', KEYS[2], perUser) end
for n = 1, 2 do
  if redis.call('INCR', KEYS[n]) == 1 then redis.call('PEXPIRE', KEYS[n], ARGV[3]) end
end
return { '' }`;

// A right password takes its attempt back.
const SUCCEEDED = `
for n = 1, 2 do
  if tonumber(redis.call('GET', KEYS[n]) or '0') > 0 then redis.call('DECR', KEYS[n]) end
end
return 0`;

export class SharedFailedLogins {
  constructor(
    private readonly redis: Redis,
    private readonly limits: Pick<Limits, 'maxFailedLoginsPerUser' | 'maxFailedLoginsPerAddress'>,
    readonly windowMs = 60_000,
  ) {}

  /** Counts an attempt on every instance's count; the lockout that refuses it unchecked, or null. Rejects when Redis cannot be asked. */
  async attempt(address: string, user: string): Promise<Lockout | null> {
    const [scope, failures, first] = (await this.redis.eval(ATTEMPT, 2, ...keys(address, user), this.limits.maxFailedLoginsPerUser, this.limits.maxFailedLoginsPerAddress, this.windowMs)) as [string, number?, number?];
    if (scope !== 'user' && scope !== 'address') return null;
    return { scope, failures: Number(failures), firstTime: first === 1 };
  }

  async succeeded(address: string, user: string): Promise<void> {
    await this.redis.eval(SUCCEEDED, 2, ...keys(address, user));
  }
}

function keys(address: string, user: string): [string, string] {
  return [`${PREFIX}${address}`, `${PREFIX}${address}\u0000${user}`];
}

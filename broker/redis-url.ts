import type { RedisOptions } from 'ioredis';

/** `--redis` (or `--redis-ca`) that cannot be used: said in one line at start, exit 1. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/** The URL as logs and errors show it: the passwords, if any, as `***`. */
export function redactedUrl(url: string): string {
  // Every parameter's value: the one there is is a password, and a misspelled name must not show it.
  return redactedUserinfo(url).replace(/([?&][^=&#]*=)[^&#]*/g, '$1***');
}

function redactedUserinfo(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.href;
  } catch {
    // Not a URL (a sentinel list among them): it may still hold a password after a colon.
    return url.replace(/:[^/]*@/, ':***@');
  }
}

/**
 * ioredis options for `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS, the certificate checked
 * against the system's CAs, or `ca` when given: a private CA or a self-signed certificate).
 */
export function redisConnectionOptions(url: string, ca?: Buffer): RedisOptions {
  if (/^rediss?\+sentinel:/i.test(url)) return sentinelConnectionOptions(url, ca);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUnreachableError(`--redis ${redactedUrl(url)} is not a URL like redis://127.0.0.1:6379`);
  }
  const shown = redactedUrl(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUnreachableError(`--redis ${shown} must start with redis://, rediss:// (TLS) or redis+sentinel://`);
  const tls = u.protocol === 'rediss:';
  if (ca && !tls) throw new RedisUnreachableError(`--redis-ca is for TLS: use rediss:// in --redis (got ${shown})`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new RedisUnreachableError(`--redis ${shown}: the database after the / must be a number like /0`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return {
    host,
    port: Number(u.port || 6379),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db,
    ...(tls && { tls: { servername: isIpAddress(host) ? undefined : host, ...(ca && { ca }) } }),
    retryStrategy: keepRetrying,
  };
}

/** Keep retrying for ever, at most every 2 s: the broker serves local clients meanwhile. */
const keepRetrying = (times: number) => Math.min(times * 200, 2000);

/**
 * ioredis options for `redis+sentinel://[[user]:password@]host:port,host:port/MASTER[/db][?sentinelPassword=…]`:
 * the sentinels are asked where MASTER's primary is, and asked again on each reconnection, so a failover moves
 * every connection to the new primary. The user and password are the data nodes'; the sentinels get none unless
 * `sentinelPassword` is given. `rediss+sentinel://` speaks TLS to both, checked against `ca` when given.
 * Not parsed by `URL`: a host list is no URL host.
 */
function sentinelConnectionOptions(url: string, ca?: Buffer): RedisOptions {
  const shown = redactedUrl(url);
  const like = 'like redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster';
  const m = /^(rediss?)\+sentinel:\/\/(?:([^/]*)@)?([^/?#]*)(?:\/([^/?#]*))?(?:\/([^/?#]*))?(?:\?([^#]*))?$/i.exec(url);
  if (!m) throw new RedisUnreachableError(`--redis ${shown} is not a sentinel URL ${like}`);
  const [, scheme, userinfo, hostList, master, dbText, query] = m;
  const tls = scheme!.toLowerCase() === 'rediss';
  if (ca && !tls) throw new RedisUnreachableError(`--redis-ca is for TLS: use rediss+sentinel:// in --redis (got ${shown})`);
  if (!hostList) throw new RedisUnreachableError(`--redis ${shown}: no sentinels; list them as host:port,host:port (${like})`);
  const sentinels = hostList.split(',').map((entry) => {
    const hp = /^(?:\[([^\]]+)\]|([^:@[\]]+))(?::(\d*))?$/.exec(entry);
    const port = hp?.[3] === undefined ? 26379 : Number(hp[3]);
    if (!hp || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new RedisUnreachableError(`--redis ${shown}: "${entry}" is not a sentinel host:port (a port from 1 to 65535; ${like})`);
    return { host: hp[1] ?? hp[2]!, port };
  });
  if (!master) throw new RedisUnreachableError(`--redis ${shown}: no master name after the sentinels (${like})`);
  const db = dbText ? Number(dbText) : 0;
  if (dbText !== undefined && (!dbText || !Number.isInteger(db) || db < 0))
    throw new RedisUnreachableError(`--redis ${shown}: the database after the master name must be a number like /mymaster/0`);
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys())
    if (key !== 'sentinelPassword') throw new RedisUnreachableError(`--redis ${shown}: unknown parameter "${key}" (only sentinelPassword)`);
  const [user, password] = splitUserinfo(userinfo ?? '');
  const sentinelPassword = params.get('sentinelPassword') || undefined;
  const tlsOptions = tls ? { ...(ca && { ca }) } : undefined;
  return {
    sentinels,
    name: safeDecode(master),
    password,
    username: user,
    db,
    ...(sentinelPassword && { sentinelPassword }),
    ...(tlsOptions && { tls: tlsOptions, sentinelTLS: tlsOptions, enableTLSForSentinelMode: true }),
    retryStrategy: keepRetrying,
    // All sentinels unreachable: ask them again, at most every 2 s (ioredis' own default is every second for ever).
    sentinelRetryStrategy: keepRetrying,
    // A sentinel that takes the connection and never answers (stopped, overloaded): the next one is asked after
    // 2 s. Without a limit, the connection waited for it for ever, at start and at every reconnection.
    sentinelCommandTimeout: 2000,
  };
}

function splitUserinfo(userinfo: string): [string | undefined, string | undefined] {
  const colon = userinfo.indexOf(':');
  const [user, password] = colon === -1 ? [userinfo, ''] : [userinfo.slice(0, colon), userinfo.slice(colon + 1)];
  return [user ? safeDecode(user) : undefined, password ? safeDecode(password) : undefined];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function isIpAddress(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
}

import type { RedisOptions } from 'ioredis';

/** `--redis` (or `--redis-ca`) that cannot be used: said in one line at start, exit 1. */
export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

/** The URL as logs and errors show it: the password, if any, as `***`. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = '***';
    return u.href;
  } catch {
    // Not a URL: it may still hold a password after a colon.
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/**
 * ioredis options for `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS, the certificate checked
 * against the system's CAs, or `ca` when given: a private CA or a self-signed certificate).
 */
export function redisConnectionOptions(url: string, ca?: Buffer): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUnreachableError(`--redis ${redactedUrl(url)} is not a URL like redis://127.0.0.1:6379`);
  }
  const shown = redactedUrl(url);
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUnreachableError(`--redis ${shown} must start with redis:// or rediss:// (TLS)`);
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
    // Keep retrying for ever, at most every 2 s: the broker serves local clients meanwhile.
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
  };
}

function isIpAddress(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
}

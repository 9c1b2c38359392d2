/**
 * Scale-out: several broker instances share one Redis through the Aedes team's own modules, mqemitter-redis
 * (message fan-out between instances) and aedes-persistence-redis (retained messages, subscriptions, wills,
 * QoS 1 state). Aedes delivers across instances only when both are shared, so both are used.
 */
import { Redis, type RedisOptions } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import type { Logger } from './log';

export interface RedisBackend {
  mq: unknown;
  persistence: unknown;
  /** False while any of the Redis connections is down. */
  healthy(): boolean;
  /** Ends the persistence's connection; Aedes closes the emitter (and its two connections) itself. */
  close(): Promise<void>;
}

export class RedisUnreachableError extends Error {
  override name = 'RedisUnreachableError';
}

function redisOptions(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUnreachableError(`--redis ${url} is not a URL like redis://127.0.0.1:6379`);
  }
  if (u.protocol !== 'redis:') throw new RedisUnreachableError(`--redis ${url} must start with redis://`);
  return {
    host: u.hostname || '127.0.0.1',
    port: Number(u.port || 6379),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    // Keep retrying for ever, at most every 2 s: the broker serves local clients meanwhile.
    retryStrategy: (times) => Math.min(times * 200, 2000),
  };
}

/** Checks Redis answers (a clear error, not a hang, when it does not), then connects both modules. */
export async function connectRedis(url: string, log: Logger, timeoutMs = 3000): Promise<RedisBackend> {
  const options = redisOptions(url);
  const probe = new Redis({ ...options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
  } catch (error) {
    throw new RedisUnreachableError(`cannot reach Redis at ${url}: ${(error as Error).message || 'no answer'}`);
  } finally {
    probe.disconnect();
  }

  const down = new Set<string>();
  let lastLog = 0;
  const connection = (name: string): Redis => {
    const redis = new Redis(options);
    redis.on('error', (error: Error) => {
      // Loud, but not once per retry: at most a line every 10 s while it is down.
      if (!down.has(name) || Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log.error({ redis: url, connection: name, err: error.message }, `Redis connection lost (${name}): ${error.message}; serving local clients, retrying`);
      }
      down.add(name);
    });
    redis.on('close', () => down.add(name));
    redis.on('ready', () => {
      if (down.delete(name)) log.warn({ redis: url, connection: name }, `Redis connection back (${name})`);
    });
    return redis;
  };

  const db = connection('persistence');
  const mq = mqemitterRedis({ subConn: connection('subscribe'), pubConn: connection('publish') });
  const persistence = aedesPersistenceRedis({ conn: db });
  return {
    mq,
    persistence,
    healthy: () => down.size === 0,
    // Not persistence.destroy(): it unsubscribes from the emitter Aedes has already closed by then, and its
    // rejection escapes its callback. The connection it used is ours to end.
    close: async () => {
      db.disconnect();
    },
  };
}

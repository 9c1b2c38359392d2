/**
 * Scale-out: several broker instances share one Redis through the Aedes team's own modules, mqemitter-redis
 * (message fan-out between instances) and aedes-persistence-redis (retained messages, subscriptions, wills,
 * QoS 1 state). Aedes delivers across instances only when both are shared, so both are used.
 */
import { Redis, type RedisOptions } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import type { EventEmitter } from 'node:events';
import { LogLimiter, type Logger } from './log';

export interface RedisBackend {
  mq: unknown;
  persistence: unknown;
  /** False while any of the Redis connections is down. */
  healthy(): boolean;
  /**
   * Logs (rate-limited) the errors Aedes emits on itself when persistence fails (its will sweep, offline
   * enqueues): unhandled, each would end the process.
   */
  watch(aedes: EventEmitter): void;
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
  const lastLog = new Map<string, number>();
  const connectionErrors = new WeakSet<Error>();
  const connection = (name: string): Redis => {
    const redis = new Redis(options);
    redis.on('error', (error: Error) => {
      connectionErrors.add(error);
      // Loud, but not once per retry: at most a line every 10 s per connection while it is down.
      if (!down.has(name) || Date.now() - (lastLog.get(name) ?? 0) > 10_000) {
        lastLog.set(name, Date.now());
        log.error({ event: 'redis_down', redis: url, connection: name, err: error.message }, `Redis connection lost (${name}): ${error.message}; serving local clients, retrying`);
      }
      down.add(name);
    });
    redis.on('close', () => down.add(name));
    redis.on('ready', () => {
      if (down.delete(name)) log.warn({ event: 'redis_back', redis: url, connection: name }, `Redis connection back (${name})`);
    });
    return redis;
  };

  // Everything else that fails because of Redis: a publish between instances, a will sweep, an offline enqueue.
  const failures = new LogLimiter(log, 1, 10_000);
  const failed = (what: string) => (error: Error) => {
    if (connectionErrors.has(error)) return; // already said by the connection itself
    failures.error({ redis: url, err: error.message }, `Redis failure (${what}): ${error.message}; serving local clients`);
  };

  const db = connection('persistence');
  const mq = mqemitterRedis({ subConn: connection('subscribe'), pubConn: connection('publish') }) as unknown as RedisEmitter;
  // mqemitter-redis re-emits its connections' errors and its failed publishes on `state`; with no listener
  // there, Node ends the process.
  mq.state.on('error', failed('emitter'));
  deliverLocallyFirst(mq, failed('emitter'));
  const persistence = aedesPersistenceRedis({ conn: db });
  return {
    mq,
    persistence,
    healthy: () => down.size === 0,
    watch: (aedes) => aedes.on('error', failed('broker')),
    // Not persistence.destroy(): it unsubscribes from the emitter Aedes has already closed by then, and its
    // rejection escapes its callback. The connection it used is ours to end.
    close: async () => {
      db.disconnect();
    },
  };
}

/** The parts of mqemitter-redis 7 this module relies on (its own types leave out `state` and `_emit`). */
interface RedisEmitter {
  state: EventEmitter;
  closing?: boolean;
  /** Publishes to Redis; every instance, this one included, delivers what comes back from Redis. */
  emit(packet: EmittedPacket, done?: (error?: Error) => void): void;
  /** mqemitter's own in-process delivery, which mqemitter-redis calls for each message from Redis. */
  _emit(packet: EmittedPacket, done?: (error?: Error) => void): void;
}

/** Aedes numbers every packet it publishes: `brokerCounter` counts per `brokerId`. */
interface EmittedPacket {
  topic: string;
  brokerId?: string;
  brokerCounter?: number;
}

/** Messages remembered as sent from here, to skip when Redis brings them back. */
const SENT_HERE_MAX = 50_000;

/**
 * Local subscribers get a message from this process itself; Redis carries it to the other instances. Alone,
 * mqemitter-redis sends local messages through Redis too, so a Redis restart between a publish and its
 * subscriber connection's resubscribe lost them. Our own message coming back from Redis is recognised by its
 * Aedes numbering and skipped.
 */
function deliverLocallyFirst(mq: RedisEmitter, onRedisError: (error: Error) => void): void {
  // Sent to Redis and not back yet. Bounded (while Redis is away, or when no subscriber here brings a message
  // back, nothing returns): the oldest are forgotten first, through a ring of their keys. Taking a Set's first
  // entry instead (values().next()) walks past every entry deleted before it, and at 50,000 kept that took 44%
  // of a publishing instance's time.
  const sentHere = new Set<string>();
  const ring: (string | undefined)[] = new Array<string | undefined>(SENT_HERE_MAX);
  let oldest = 0;
  const keyOf = (p: EmittedPacket) => (p.brokerId && p.brokerCounter ? `${p.brokerId}/${p.brokerCounter}` : null);
  const deliverHere = mq._emit.bind(mq);
  const sendToRedis = mq.emit.bind(mq);
  mq._emit = (packet, done) => {
    const key = keyOf(packet);
    if (key !== null && sentHere.delete(key)) return done?.();
    deliverHere(packet, done);
  };
  mq.emit = (packet, done) => {
    const key = keyOf(packet);
    if (key !== null) {
      const forgotten = ring[oldest];
      if (forgotten !== undefined) sentHere.delete(forgotten);
      ring[oldest] = key;
      oldest = (oldest + 1) % SENT_HERE_MAX;
      sentHere.add(key);
    }
    deliverHere(packet, done);
    sendToRedis(packet, (error) => {
      if (error && !mq.closing) onRedisError(error);
    });
  };
}

/**
 * Scale-out: several broker instances share one Redis through the Aedes team's own modules, mqemitter-redis
 * (message fan-out between instances) and aedes-persistence-redis (retained messages, subscriptions, wills,
 * QoS 1 state). Aedes delivers across instances only when both are shared, so both are used.
 *
 * Redis is not trusted to hold only what instances wrote: every message from the pub/sub channel and every
 * stored record is checked (redis-records.ts, redis-stored.ts); what fails is logged as `redis_bad_message` and
 * dropped. Redis must still be private: a well-formed forged message cannot be told from a real one.
 */
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import type { EventEmitter } from 'node:events';
import type { RedisOptions } from 'ioredis';
import type { ClusterLink } from './cluster/cluster';
import { requireInternal } from './library-internals';
import { LogLimiter, printable, type Logger } from './log';
import { checkFromChannel, type RecordLimits } from './redis-records';
import { guardStoredReads } from './redis-stored';
import { sentinelProblem } from './redis-sentinel';
import { redactedUrl, redisConnectionOptions, RedisUnreachableError } from './redis-url';
import { DEFAULT_LIMITS } from './security/limits';
import { OutagePersistence } from './outage-persistence';

export { RedisUnreachableError } from './redis-url';

export interface RedisBackend {
  mq: unknown;
  /** The connections of the rules shared by every instance (cluster/): client ids, connections, lockouts. */
  cluster: ClusterLink;
  /** Redis's, and this instance's memory for clients admitted while Redis is down (outage-persistence.ts). */
  persistence: OutagePersistence;
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

export interface RedisConnectOptions {
  /** PEM CA (or self-signed certificate) that a `rediss://` server's certificate must chain to. */
  ca?: Buffer;
  /** The topic and contract limits what comes from Redis is checked against (the broker's own). */
  limits?: RecordLimits;
  timeoutMs?: number;
}

/**
 * Checks Redis answers (a clear error, not a hang, when it does not), then connects both modules. Every
 * connection is made from `redisConnectionOptions`, so with `redis+sentinel://` each finds the primary through the
 * sentinels and follows a failover.
 */
export async function connectRedis(url: string, log: Logger, connectOptions: RedisConnectOptions = {}): Promise<RedisBackend> {
  const { ca, limits = DEFAULT_LIMITS, timeoutMs = 3000 } = connectOptions;
  const options = redisConnectionOptions(url, ca);
  const shown = redactedUrl(url);
  const probe = new Redis({ ...options, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, sentinelRetryStrategy: () => null });
  // The cause (a refused password, an untrusted certificate) comes as an 'error' event; connect() itself then
  // fails with only "Connection is closed".
  let cause: Error | null = null;
  probe.on('error', (error: Error) => (cause ??= error));
  try {
    const sentinels = options.sentinels && (await sentinelProblem(options, timeoutMs));
    if (sentinels) throw new Error(sentinels);
    await probe.connect();
    await probe.ping();
  } catch (error) {
    const why = oneLine((cause ?? (error as Error)).message);
    throw new RedisUnreachableError(`cannot reach Redis at ${shown}: ${why || 'no answer'}`);
  } finally {
    probe.disconnect();
  }

  const down = new Set<string>();
  // The instance as a whole: serving local clients only from the first connection down to the last one back.
  const setDown = (name: string) => {
    if (down.size === 0) log.warn({ event: 'redis_outage', redis: shown, serving: 'local-clients' }, 'Redis is down: serving local clients only (clean sessions; persistent ones are refused)');
    down.add(name);
  };
  const setUp = (name: string) => {
    const was = down.delete(name);
    if (was && down.size === 0) log.info({ event: 'redis_outage_over', redis: shown }, 'Redis is back: serving all clients');
    return was;
  };
  const lastLog = new Map<string, number>();
  const connectionErrors = new WeakSet<Error>();
  const connection = (name: string, extra: RedisOptions = {}): Redis => {
    const redis = new Redis({ ...options, ...extra });
    redis.on('error', (error: Error) => {
      connectionErrors.add(error);
      // Loud, but not once per retry: at most a line every 10 s per connection while it is down.
      if (!down.has(name) || Date.now() - (lastLog.get(name) ?? 0) > 10_000) {
        lastLog.set(name, Date.now());
        log.error({ event: 'redis_down', redis: shown, connection: name, err: error.message }, `Redis connection lost (${name}): ${error.message}; serving local clients, retrying`);
      }
      setDown(name);
    });
    redis.on('close', () => setDown(name));
    redis.on('ready', () => {
      if (setUp(name)) log.info({ event: 'redis_back', redis: shown, connection: name }, `Redis connection back (${name})`);
    });
    return redis;
  };

  // Everything else that fails because of Redis: a publish between instances, a will sweep, an offline enqueue.
  const failures = new LogLimiter(log, 1, 10_000);
  const failed = (what: string) => (error: Error) => {
    if (connectionErrors.has(error)) return; // already said by the connection itself
    failures.error({ redis: shown, err: error.message }, `Redis failure (${what}): ${error.message}; serving local clients`);
  };

  // What does not decode or check out: logged, at most 10 lines in 10 s, and dropped.
  const badLines = new LogLimiter(log, 10, 10_000);
  const bad = (where: string, reason: string) =>
    badLines.warn({ event: 'redis_bad_message', redis: shown, channel: where, reason }, `Dropped what Redis gave on ${printable(where)}: ${reason}`);

  const db = connection('persistence');
  guardStoredReads(db, limits, bad);
  const subConn = connection('subscribe');
  const mq = mqemitterRedis({ subConn, pubConn: connection('publish') }) as unknown as RedisEmitter;
  // mqemitter-redis re-emits its connections' errors and its failed publishes on `state`; with no listener
  // there, Node ends the process.
  mq.state.on('error', failed('emitter'));
  const checkedFromRedis = checkChannelMessages(subConn, limits, bad);
  deliverLocallyFirst(mq, checkedFromRedis, failed('emitter'));
  const healthy = () => down.size === 0;
  subscribeLocallyWhileDown(mq, healthy);
  const persistence = new OutagePersistence(aedesPersistenceRedis({ conn: db }) as ConstructorParameters<typeof OutagePersistence>[0], healthy, failed('persistence'));
  // Questions asked at CONNECT fail at once while Redis is away (no offline queue) or slow to answer, instead of
  // holding the client's CONNACK until it is back.
  const cluster: ClusterLink = { commands: connection('cluster', { enableOfflineQueue: false, commandTimeout: 1000 }), subscriber: connection('cluster-subscribe') };
  // Without its offline queue the question connection refuses commands until it is up: the first clients must not
  // be taken for clients of an outage.
  await Promise.all([cluster.commands, cluster.subscriber].map((redis) => ready(redis, timeoutMs))).catch((error: Error) => {
    for (const redis of [db, subConn, cluster.commands, cluster.subscriber]) redis.disconnect();
    throw new RedisUnreachableError(`cannot reach Redis at ${shown}: ${oneLine(error.message)}`);
  });
  const stopWatching = watchAnswers(db, setDown, setUp);
  return {
    mq,
    persistence,
    cluster,
    healthy,
    watch: (aedes) => aedes.on('error', failed('broker')),
    // Not persistence.destroy(): it unsubscribes from the emitter Aedes has already closed by then, and its
    // rejection escapes its callback. The connection it used is ours to end.
    close: async () => {
      stopWatching();
      db.disconnect();
      cluster.commands.disconnect();
      cluster.subscriber.disconnect();
    },
  };
}

/** The parts of mqemitter-redis 7 this module relies on (its own types leave out `state` and `_emit`). */
interface RedisEmitter {
  state: EventEmitter;
  closing?: boolean;
  /** Publishes to Redis; every instance, this one included, delivers what comes back from Redis. */
  emit(packet: EmittedPacket, done?: (error?: Error) => void): void;
  on(topic: string, listener: unknown, done?: () => void): unknown;
  removeListener(topic: string, listener: unknown, done?: () => void): unknown;
  /** mqemitter's own in-process delivery, which mqemitter-redis calls for each message from Redis. */
  _emit(packet: unknown, done?: (error?: Error) => void): void;
}

/** Aedes numbers every packet it publishes: `brokerCounter` counts per `brokerId`. */
interface EmittedPacket {
  topic: string;
  brokerId?: string;
  brokerCounter?: number | string;
}

/** Messages remembered as sent from here, to skip when Redis brings them back. */
const SENT_HERE_MAX = 50_000;

/**
 * Local subscribers get a message from this process itself; Redis carries it to the other instances. Alone,
 * mqemitter-redis sends local messages through Redis too, so a Redis restart between a publish and its
 * subscriber connection's resubscribe lost them. Our own message coming back from Redis is recognised by its
 * Aedes numbering and skipped.
 */
function deliverLocallyFirst(mq: RedisEmitter, fromRedis: (packet: unknown) => EmittedPacket | null, onRedisError: (error: Error) => void): void {
  // Sent to Redis and not back yet. Bounded (while Redis is away, or when no subscriber here brings a message
  // back, nothing returns): the oldest are forgotten first, through a ring of their keys. Taking a Set's first
  // entry instead (values().next()) walks past every entry deleted before it, and at 50,000 kept that took 44%
  // of a publishing instance's time.
  const sentHere = new Set<string>();
  const ring: (string | undefined)[] = new Array<string | undefined>(SENT_HERE_MAX);
  let oldest = 0;
  const keyOf = (p: unknown) => {
    const { brokerId, brokerCounter } = (typeof p === 'object' && p !== null ? p : {}) as EmittedPacket;
    return typeof brokerId === 'string' && brokerId && brokerCounter ? `${brokerId}/${brokerCounter}` : null;
  };
  requireInternal(typeof mq._emit === 'function', 'mqemitter-redis', 'MQEmitterRedis#_emit');
  const deliverHere = mq._emit.bind(mq);
  const sendToRedis = mq.emit.bind(mq);
  mq._emit = (received, done) => {
    // Our own message back: skipped before it is checked (it was checked as a client's publish here).
    const key = keyOf(received);
    if (key !== null && sentHere.delete(key)) return done?.();
    const packet = fromRedis(received);
    if (packet === null) return done?.();
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

/** Resolves once `redis` is ready for commands, rejects after `timeoutMs`. */
function ready(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no answer')), timeoutMs);
    redis.once('ready', () => (clearTimeout(timer), resolve()));
  });
}

/** How often the persistence connection is asked for a PING, and how long its answer may take. */
const PING_EVERY_MS = 1000;
const PING_ANSWER_MS = 2000;

/**
 * A Redis that stops answering with its connection open (SIGSTOP, a hung host) gives no 'error' or 'close': the
 * persistence connection is pinged every second, and a PING unanswered after 2 s counts as Redis down until it is
 * answered. One PING at a time; other commands get no timeout (they wait for Redis as before).
 */
function watchAnswers(db: Redis, setDown: (name: string) => void, setUp: (name: string) => void): () => void {
  const name = 'persistence (not answering)';
  let sentAt: number | null = null;
  const timer = setInterval(() => {
    if (sentAt !== null) {
      if (Date.now() - sentAt > PING_ANSWER_MS) setDown(name);
      return;
    }
    sentAt = Date.now();
    const answered = () => {
      sentAt = null;
      setUp(name);
    };
    db.ping().then(answered, answered); // an error is an answer: a connection that is down says so itself
  }, PING_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * mqemitter-redis adds a listener here at once, but calls back only once Redis confirms its SUBSCRIBE (or
 * UNSUBSCRIBE): while Redis is down, Aedes's SUBACK waited for it, and so did a closing client's disconnect (it
 * unsubscribes first), which kept it counted as connected. While Redis is down the callback comes at once; the
 * command still goes to Redis when it is back.
 */
function subscribeLocallyWhileDown(mq: RedisEmitter, healthy: () => boolean): void {
  requireInternal(typeof mq.on === 'function' && typeof mq.removeListener === 'function', 'mqemitter-redis', 'MQEmitterRedis#on and #removeListener');
  for (const method of ['on', 'removeListener'] as const) {
    const original = mq[method].bind(mq);
    mq[method] = (topic, listener, done) => {
      if (!done || healthy()) return original(topic, listener, done);
      const result = original(topic, listener);
      setImmediate(done);
      return result;
    };
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * mqemitter-redis decodes each message from the channel with msgpack and hands its `msg` to Aedes unchecked: bytes
 * that were not msgpack threw out of the Redis connection's event and ended every instance. Its listeners on the
 * subscribe connection run here inside a try, and remember the channel; the returned check, which `_emit` calls
 * with what they decoded, lets through only a packet that passes redis-records.ts (rebuilt from its checked
 * fields) and logs the rest.
 */
function checkChannelMessages(subConn: Redis, limits: RecordLimits, bad: (where: string, reason: string) => void): (packet: unknown) => EmittedPacket | null {
  let channel = '';
  for (const event of ['messageBuffer', 'pmessageBuffer'] as const) {
    const decodeAndDeliver = subConn.listeners(event) as ((...args: Buffer[]) => void)[];
    subConn.removeAllListeners(event);
    subConn.on(event, (...args: Buffer[]) => {
      channel = String(args[args.length - 2]); // (channel, message) or (pattern, channel, message)
      try {
        for (const listener of decodeAndDeliver) listener(...args);
      } catch (error) {
        bad(channel, `not a message (${oneLine((error as Error).message)})`);
      } finally {
        channel = '';
      }
    });
  }
  return (received) => {
    const checked = checkFromChannel(received, channel, limits);
    if ('ok' in checked) return checked.ok;
    bad(channel, checked.problem);
    return null;
  };
}

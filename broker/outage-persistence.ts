/**
 * Aedes's persistence with Redis, able to serve clients while Redis is down (issue 31, "through an outage").
 *
 * Aedes's CONNECT waits on its persistence (clearing the old session, storing the will, reading the queue): with
 * Redis down, a new client got no CONNACK until Redis was back. A clean-session client admitted while Redis is down
 * (outage-admission.ts decides, once, at its CONNECT) gets a memory of its own (aedes-persistence's in-memory
 * class) for its whole connection: its session, will and QoS 1/2 in-flight state never touch Redis, so its CONNACK
 * comes at once. Everything else goes to Redis as before.
 *
 * Two shared things that would block a local client's publish behind Redis do not wait for it while it is down:
 * storing a retained message, and queueing a message for offline persistent sessions. Both still go to Redis (late,
 * or lost if Redis never comes back), and local subscribers get the message at once.
 *
 * Retained messages: a copy of those this instance stored or read from Redis is kept here (bounded by the retained
 * caps, oldest dropped first), and a subscription made while Redis is down gets them from that copy.
 */
import AsyncMemory from 'aedes-persistence/asyncPersistence.js';
import { Readable } from 'node:stream';
import { topicMatches } from '../protocol/topic-filter';

type Packet = Record<string, unknown> & { topic: string; payload: Buffer };
/** Whom a call is about: Aedes passes a Client, or a plain `{ id }` or `{ clientId }`. */
type Whom = { id?: string; clientId?: string; conn?: unknown };

/** The persistence methods Aedes 2 calls, promise style (aedes-persistence-redis's CallBackPersistence). */
interface Persistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: Packet): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<Packet>;
  addSubscriptions(client: Whom, subs: unknown[]): Promise<void>;
  removeSubscriptions(client: Whom, topics: string[]): Promise<void>;
  subscriptionsByClient(client: Whom): Promise<unknown[]>;
  countOffline(): Promise<unknown>;
  subscriptionsByTopic(topic: string): Promise<unknown[]>;
  cleanSubscriptions(client: Whom): Promise<void>;
  outgoingEnqueue(sub: Whom, packet: object): Promise<void>;
  outgoingEnqueueCombi(subs: Whom[], packet: object): Promise<void>;
  outgoingUpdate(client: Whom, packet: object): Promise<void>;
  outgoingClearMessageId(client: Whom, packet: object): Promise<unknown>;
  outgoingStream(client: Whom): AsyncIterable<unknown>;
  incomingStorePacket(client: Whom, packet: object): Promise<void>;
  incomingGetPacket(client: Whom, packet: object): Promise<unknown>;
  incomingDelPacket(client: Whom, packet: object): Promise<void>;
  putWill(client: Whom, packet: object): Promise<void>;
  getWill(client: Whom): Promise<unknown>;
  delWill(client: Whom): Promise<unknown>;
  streamWill(brokers: unknown): AsyncIterable<unknown>;
  getClientList(topic: string): AsyncIterable<unknown>;
  destroy(): Promise<void>;
}

/** The retained messages this instance knows, newest last, within a count and a byte bound. */
export class RetainedCopy {
  private readonly packets = new Map<string, Packet>();
  private bytes = 0;
  maxMessages = 10_000;
  maxBytes = 64 * 1024 * 1024;

  keep(packet: Packet): void {
    this.forget(packet.topic);
    if (packet.payload.length === 0) return;
    this.packets.set(packet.topic, { ...packet });
    this.bytes += packet.payload.length;
    for (const topic of this.packets.keys()) {
      if (this.packets.size <= this.maxMessages && this.bytes <= this.maxBytes) break;
      this.forget(topic);
    }
  }

  forget(topic: string): void {
    const old = this.packets.get(topic);
    if (!old) return;
    this.bytes -= old.payload.length;
    this.packets.delete(topic);
  }

  /** What matches `patterns`, pattern by pattern as Aedes's own persistences give it. */
  *matching(patterns: string[]): Generator<Packet> {
    const sent = new Set<string>();
    for (const pattern of patterns) {
      for (const [topic, packet] of this.packets) {
        if (sent.has(topic) || !topicMatches(pattern, topic)) continue;
        sent.add(topic);
        yield packet;
      }
    }
  }

  /** After a full read of `patterns` from Redis: what matches them and Redis did not give is gone there. */
  settle(patterns: string[], seen: Set<string>): void {
    for (const topic of [...this.packets.keys()]) if (!seen.has(topic) && patterns.some((p) => topicMatches(p, topic))) this.forget(topic);
  }

  get size(): number {
    return this.packets.size;
  }
}

export class OutagePersistence {
  /** Each client admitted during an outage, with the memory that holds its session for its whole connection. */
  private readonly memoryOf = new WeakMap<object, AsyncMemory>();
  /** The same memories by client id, for the calls Aedes makes with a plain `{ id }`. */
  private readonly byId = new Map<string, AsyncMemory>();
  /** Memories whose connection has closed: dropped once their will is gone (published or deleted). */
  private readonly closing = new WeakSet<AsyncMemory>();
  private broker: unknown;
  readonly retained = new RetainedCopy();

  constructor(
    private readonly redis: Persistence,
    /** Whether Redis answers now. */
    readonly redisUp: () => boolean,
    /** Told when a write sent to Redis without waiting fails. */
    private readonly onRedisError: (error: Error) => void = () => {},
  ) {}

  /** Local clients served from memory now: for the log and tests. */
  get localClients(): number {
    return this.byId.size;
  }

  /** Serves this client (a clean session admitted while Redis is down) from memory until its connection ends. */
  serveLocally(client: object): void {
    const memory = new AsyncMemory();
    void memory.setup(this.broker); // sets its broker at once (putWill reads its id); no broadcast, nothing to wait for
    this.memoryOf.set(client, memory);
  }

  /** A client that will use Redis: plain-`{ id }` calls for its id go to Redis from now on. */
  useRedisFor(clientId: string): void {
    this.byId.delete(clientId);
  }

  /** Its connection closed: its memory goes with its last call (its will's deletion), or now if it has no will. */
  async release(client: { id?: string }): Promise<void> {
    const memory = this.memoryOf.get(client);
    if (!memory || typeof client.id !== 'string') return;
    if ((await memory.getWill({ id: client.id })) === undefined) this.drop(client.id, memory);
    else this.closing.add(memory);
  }

  isLocal(client: object): boolean {
    return this.memoryOf.has(client);
  }

  private drop(id: string, memory: AsyncMemory): void {
    if (this.byId.get(id) === memory) this.byId.delete(id);
  }

  /** The memory that serves this call's client, or null for Redis. */
  private local(whom: Whom | undefined): AsyncMemory | null {
    if (!whom) return null;
    const memory = this.memoryOf.get(whom);
    if (memory) {
      if (typeof whom.id === 'string' && this.byId.get(whom.id) !== memory) this.byId.set(whom.id, memory);
      return memory;
    }
    if (whom.conn !== undefined) return null; // a client of Redis's
    const id = whom.id ?? whom.clientId;
    return (typeof id === 'string' && this.byId.get(id)) || null;
  }

  private to(whom: Whom | undefined): Persistence {
    return (this.local(whom) as unknown as Persistence | null) ?? this.redis;
  }

  /** Sent to Redis; while it is down, not waited for (logged if it fails). */
  private send(write: () => Promise<void>): Promise<void> {
    const sent = write();
    if (this.redisUp()) return sent;
    sent.catch(this.onRedisError);
    return Promise.resolve();
  }

  async setup(broker: unknown): Promise<void> {
    this.broker = broker;
    await this.redis.setup(broker);
  }

  storeRetained(packet: Packet): Promise<void> {
    this.retained.keep(packet);
    return this.send(() => this.redis.storeRetained(packet));
  }

  createRetainedStream(pattern: string): Readable {
    return this.createRetainedStreamCombi([pattern]);
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    if (!this.redisUp()) return Readable.from(this.retained.matching(patterns));
    const fromRedis = this.redis.createRetainedStreamCombi(patterns);
    const copy = this.retained;
    return Readable.from(
      (async function* keepCopies() {
        const seen = new Set<string>();
        for await (const packet of fromRedis) {
          copy.keep(packet);
          seen.add(packet.topic);
          yield packet;
        }
        copy.settle(patterns, seen);
      })(),
    );
  }

  addSubscriptions(client: Whom, subs: unknown[]) {
    return this.to(client).addSubscriptions(client, subs);
  }
  removeSubscriptions(client: Whom, topics: string[]) {
    return this.to(client).removeSubscriptions(client, topics);
  }
  subscriptionsByClient(client: Whom) {
    return this.to(client).subscriptionsByClient(client);
  }
  cleanSubscriptions(client: Whom) {
    return this.to(client).cleanSubscriptions(client);
  }
  /** Persistent sessions only: those are in Redis. */
  countOffline() {
    return this.redis.countOffline();
  }
  subscriptionsByTopic(topic: string) {
    return this.redis.subscriptionsByTopic(topic);
  }
  outgoingEnqueue(sub: Whom, packet: object) {
    return this.to(sub).outgoingEnqueue(sub, packet);
  }
  /** For persistent sessions (Redis's): while Redis is down, local delivery does not wait for it. */
  outgoingEnqueueCombi(subs: Whom[], packet: object) {
    return this.send(() => this.redis.outgoingEnqueueCombi(subs, packet));
  }
  outgoingUpdate(client: Whom, packet: object) {
    return this.to(client).outgoingUpdate(client, packet);
  }
  outgoingClearMessageId(client: Whom, packet: object) {
    return this.to(client).outgoingClearMessageId(client, packet);
  }
  outgoingStream(client: Whom) {
    return this.to(client).outgoingStream(client);
  }
  incomingStorePacket(client: Whom, packet: object) {
    return this.to(client).incomingStorePacket(client, packet);
  }
  incomingGetPacket(client: Whom, packet: object) {
    return this.to(client).incomingGetPacket(client, packet);
  }
  incomingDelPacket(client: Whom, packet: object) {
    return this.to(client).incomingDelPacket(client, packet);
  }
  putWill(client: Whom, packet: object) {
    return this.to(client).putWill(client, packet);
  }
  getWill(client: Whom) {
    return this.to(client).getWill(client);
  }
  async delWill(client: Whom) {
    const memory = this.local(client);
    if (!memory) return this.redis.delWill(client);
    const will = await memory.delWill(client as { id: string });
    const id = client.id ?? client.clientId;
    if (this.closing.has(memory) && typeof id === 'string') this.drop(id, memory);
    return will;
  }
  /** Wills of instances that died, for Aedes's sweep: Redis's (local clients' wills die with this instance). */
  streamWill(brokers: unknown) {
    return this.redis.streamWill(brokers);
  }
  getClientList(topic: string) {
    return this.redis.getClientList(topic);
  }
  destroy() {
    return this.redis.destroy();
  }
}

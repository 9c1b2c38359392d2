import { requireInternal } from '../library-internals';
import type { Aedes, PublishPacket } from 'aedes';
import type { LogLimiter } from '../log';
import { printable } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { Limits } from '../security/limits';

interface RetainedStore {
  storeRetained(packet: PublishPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<PublishPacket>;
  /** A persistence that knows each retained topic's size (the durable store) says so without a stream. */
  retainedSizes?(): Iterable<[topic: string, bytes: number]>;
}

/**
 * Bounds retained messages, in count and payload bytes, by wrapping the persistence's storeRetained (every
 * retained publish and will goes through it). A new retained topic beyond either cap is delivered but not
 * retained; an existing one may change, unless it would grow past the byte cap: then it is cleared rather than
 * left stale. Counted in /metrics (mqlive_retained_*, mqlive_caps_hit_total), logged (rate-limited).
 * With Redis each instance counts what it stored and what it found at start.
 */
export class RetainedCap {
  private readonly sizes = new Map<string, number>();
  private bytes = 0;

  constructor(
    private readonly limits: Pick<Limits, 'maxRetainedMessages' | 'maxRetainedBytes'>,
    private readonly metrics: BrokerMetrics,
    private readonly warnings: LogLimiter,
  ) {}

  async install(aedes: Aedes): Promise<void> {
    const { persistence } = aedes as unknown as { persistence: RetainedStore }; // not in Aedes 1.x's types
    requireInternal(typeof persistence?.storeRetained === 'function' && typeof persistence.createRetainedStreamCombi === 'function', 'aedes', 'Aedes#persistence.storeRetained');
    const sizes = persistence.retainedSizes?.();
    if (sizes) for (const [topic, bytes] of sizes) this.set(topic, bytes);
    else for await (const packet of persistence.createRetainedStreamCombi(['#'])) this.set(packet.topic, packet.payload.length);
    const store = persistence.storeRetained.bind(persistence);
    // Found at start over caps lowered since they were kept (a durable store, Redis): the excess is cleared.
    for (const topic of [...this.sizes.keys()]) {
      if (this.sizes.size <= this.limits.maxRetainedMessages && this.bytes <= this.limits.maxRetainedBytes) break;
      this.refuse(this.sizes.size > this.limits.maxRetainedMessages ? 'retained_messages' : 'retained_bytes', `${printable(topic)} was kept before, over today's limits (--max-retained-messages ${this.limits.maxRetainedMessages}, --max-retained-bytes ${this.limits.maxRetainedBytes})`);
      this.delete(topic);
      await store({ cmd: 'publish', topic, payload: Buffer.alloc(0), qos: 0, retain: true, dup: false } as PublishPacket);
    }
    // Not an async function: a retained publish takes no more turns than without the cap.
    persistence.storeRetained = (packet) => {
      const verdict = this.admit(packet);
      if (verdict === 'store') return store(packet);
      if (verdict === 'clear') return store({ ...packet, payload: Buffer.alloc(0) });
      return Promise.resolve();
    };
  }

  private admit(packet: PublishPacket): 'store' | 'clear' | 'skip' {
    const size = packet.payload.length;
    const old = this.sizes.get(packet.topic);
    if (size === 0) {
      this.delete(packet.topic);
      return 'store';
    }
    const limits = this.limits;
    if (old === undefined && this.sizes.size >= limits.maxRetainedMessages) {
      return this.refuse('retained_messages', `${printable(packet.topic)} would be retained message ${this.sizes.size + 1} (limit ${limits.maxRetainedMessages}, --max-retained-messages)`);
    }
    if (this.bytes - (old ?? 0) + size > limits.maxRetainedBytes) {
      this.refuse('retained_bytes', `${printable(packet.topic)} would bring retained payloads to ${this.bytes - (old ?? 0) + size} bytes (limit ${limits.maxRetainedBytes}, --max-retained-bytes)`);
      if (old === undefined) return 'skip';
      this.delete(packet.topic);
      return 'clear';
    }
    this.set(packet.topic, size);
    return 'store';
  }

  private refuse(cap: 'retained_messages' | 'retained_bytes', why: string): 'skip' {
    this.metrics.capsHit[cap] += 1;
    this.warnings.warn({ event: 'cap_hit', cap }, `Not retained: ${why}`);
    return 'skip';
  }

  private set(topic: string, size: number): void {
    this.bytes += size - (this.sizes.get(topic) ?? 0);
    this.sizes.set(topic, size);
    this.report();
  }

  private delete(topic: string): void {
    this.bytes -= this.sizes.get(topic) ?? 0;
    this.sizes.delete(topic);
    this.report();
  }

  private report(): void {
    this.metrics.retainedMessages = this.sizes.size;
    this.metrics.retainedBytes = this.bytes;
  }
}

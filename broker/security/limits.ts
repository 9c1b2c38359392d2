/** The broker's limits; each has a flag (see broker/cli.ts) and a default sized for a live dashboard. */
export interface Limits {
  /** Largest MQTT packet a client may send, in bytes (fixed header included). */
  maxPacketBytes: number;
  /** Largest payload on a contract topic, in bytes. */
  maxContractPayloadBytes: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** How long a new connection may take to send CONNECT. */
  connectTimeoutMs: number;
  /** Publishes a second one client may sustain, and the burst it may use up at once; past it, it is disconnected. */
  publishRate: number;
  publishBurst: number;
  /** Refused publishes after which a client is disconnected (it cannot be told otherwise in MQTT 3.1.1). */
  maxRefusedPublishes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxPacketBytes: 256 * 1024,
  maxContractPayloadBytes: 4 * 1024,
  maxTopicLength: 1024,
  maxTopicLevels: 32,
  maxConnections: 10_000,
  maxConnectionsPerAddress: 2_500,
  connectTimeoutMs: 10_000,
  publishRate: 2_000,
  publishBurst: 4_000,
  maxRefusedPublishes: 3,
};

/** A token bucket: `take()` is false once a client has used up its burst faster than the rate refills it. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Failed logins per remote address in a fixed window: after `maxFailures` in `windowMs`, the address is
 * refused without its password being checked, until the window is over.
 */
export class FailedLogins {
  private readonly windows = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  lockedOut(address: string): boolean {
    const w = this.windows.get(address);
    return !!w && w.count >= this.maxFailures && this.now() - w.since < this.windowMs;
  }

  record(address: string): void {
    const now = this.now();
    const w = this.windows.get(address);
    if (w && now - w.since <= this.windowMs) return void (w.count += 1);
    // Forget addresses whose window is over, so failures from many addresses cannot grow this map for good.
    for (const [a, old] of this.windows) if (now - old.since > this.windowMs) this.windows.delete(a);
    this.windows.set(address, { count: 1, since: now });
  }

  /** Addresses with a window open (for tests and /metrics). */
  get size(): number {
    return this.windows.size;
  }
}

/** Counts open connections in total and per remote address. */
export class ConnectionCounter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: Pick<Limits, 'maxConnections' | 'maxConnectionsPerAddress'>) {}

  /** Returns why a new connection from `address` is refused, or null and counts it. */
  admit(address: string): string | null {
    const mine = this.perAddress.get(address) ?? 0;
    if (this.total >= this.limits.maxConnections) return `the broker has ${this.total} connections (limit ${this.limits.maxConnections})`;
    if (mine >= this.limits.maxConnectionsPerAddress) return `${address} has ${mine} connections (limit ${this.limits.maxConnectionsPerAddress})`;
    this.total += 1;
    this.perAddress.set(address, mine + 1);
    return null;
  }

  release(address: string): void {
    this.total -= 1;
    const mine = (this.perAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, mine);
  }
}

/**
 * Follows the MQTT framing of an incoming byte stream (fixed header: type byte, then the remaining length
 * as 1 to 4 bytes of 7 bits) and reports a packet announced larger than allowed, before any of it is buffered.
 */
export class PacketSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private headerBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Returns why the stream breaks the limit or the framing, or null. */
  check(chunk: Buffer): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.headerBytes = 1;
        continue;
      }
      this.headerBytes += 1;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (byte & 0x80) {
        if (this.headerBytes > 4) return 'malformed remaining length (more than 4 bytes)';
        continue;
      }
      if (this.length + this.headerBytes > this.maxPacketBytes) return `a packet of ${this.length + this.headerBytes} bytes (limit ${this.maxPacketBytes})`;
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
    }
    return null;
  }
}

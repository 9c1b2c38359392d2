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
  /** Failed logins in a minute after which a user name is locked out at one address / the whole address is. */
  maxFailedLoginsPerUser: number;
  maxFailedLoginsPerAddress: number;
  /** Retained topics, and their payload bytes, beyond which a new retained topic is not retained. */
  maxRetainedMessages: number;
  maxRetainedBytes: number;
  /** QoS 1 and 2 messages one persistent session holds, queued or in flight (sent, not acknowledged); beyond, the oldest is dropped. */
  maxQueuedMessages: number;
  /** Their payload bytes; beyond, the oldest is dropped. */
  maxQueuedBytes: number;
  /** Persistent sessions (clean=false) one user holds, or one address for anonymous clients; beyond, CONNACK 3. */
  maxSessionsPerUser: number;
  /** QoS 2 messages one client has sent and not yet released (PUBREL), its persistent session's included; beyond, it is disconnected. */
  maxAwaitingPubrel: number;
  /** Subscriptions one client may hold; beyond, SUBACK 0x80. */
  maxSubscriptionsPerClient: number;
  /** HTTP: time for a request's head, for a whole request, and before an idle keep-alive connection is closed. */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  httpKeepAliveTimeoutMs: number;
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
  maxFailedLoginsPerUser: 10,
  maxFailedLoginsPerAddress: 100,
  maxRetainedMessages: 10_000,
  maxRetainedBytes: 64 * 1024 * 1024,
  maxQueuedMessages: 1_000,
  // 1,000 of the contract's mouse events are about 100 KiB: 1 MiB never binds for them, and keeps 256 KiB payloads to 4.
  maxQueuedBytes: 1024 * 1024,
  // mqlive's own clients use clean sessions; 5 leaves room for a few third-party ones per user, and keeps one
  // account's state that outlives its connections near 45 MiB (docs/broker.md, "Limits").
  maxSessionsPerUser: 5,
  // Mosquitto's max_inflight_messages default; what a QoS 2 publisher that waits for PUBREC ever has outstanding.
  maxAwaitingPubrel: 20,
  maxSubscriptionsPerClient: 1_000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpKeepAliveTimeoutMs: 5_000,
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

/** A window of failed logins: how many since when, and whether its lockout was logged. */
interface LoginWindow {
  count: number;
  since: number;
  logged: boolean;
}

/** Why a login is refused without its password being checked. */
export interface Lockout {
  /** Locked for this user name at this address, or for the whole address. */
  scope: 'user' | 'address';
  failures: number;
  /** True once per window: the lockout is news, log it. */
  firstTime: boolean;
}

/**
 * Failed logins in fixed windows, per (address, user name) and per address. An attempt counts as soon as it
 * starts, before its (slow, asynchronous) password check, so attempts sent all at once cannot race past the
 * limit; a right password takes its attempt back. Past `maxFailedLoginsPerUser` for one user name, that name is
 * locked at that address (other users there still log in); past `maxFailedLoginsPerAddress` across names, the
 * whole address is, until the window is over.
 */
export class FailedLogins {
  private readonly windows = new Map<string, LoginWindow>();

  constructor(
    private readonly limits: Pick<Limits, 'maxFailedLoginsPerUser' | 'maxFailedLoginsPerAddress'>,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts an attempt; returns the lockout that refuses it unchecked, or null (check the password). */
  attempt(address: string, user: string): Lockout | null {
    const locked = (scope: Lockout['scope'], w: LoginWindow): Lockout => {
      const firstTime = !w.logged;
      w.logged = true;
      return { scope, failures: w.count, firstTime };
    };
    const perAddress = this.window(address);
    // A locked-out address opens no window per user name: a flood of new names costs nothing to keep.
    if (perAddress.count >= this.limits.maxFailedLoginsPerAddress) return locked('address', perAddress);
    const perUser = this.window(`${address}\u0000${user}`);
    if (perUser.count >= this.limits.maxFailedLoginsPerUser) return locked('user', perUser);
    perAddress.count += 1;
    perUser.count += 1;
    return null;
  }

  /** The password was right: its attempt does not count as a failure. */
  succeeded(address: string, user: string): void {
    for (const key of [address, `${address}\u0000${user}`]) {
      const w = this.windows.get(key);
      if (w && w.count > 0) w.count -= 1;
    }
  }

  /** Windows open (for tests). */
  get size(): number {
    return this.windows.size;
  }

  private window(key: string): LoginWindow {
    const now = this.now();
    const w = this.windows.get(key);
    if (w && now - w.since <= this.windowMs) return w;
    // Forget windows that are over, so failures from many addresses cannot grow this map for good.
    for (const [k, old] of this.windows) if (now - old.since > this.windowMs) this.windows.delete(k);
    const fresh = { count: 0, since: now, logged: false };
    this.windows.set(key, fresh);
    return fresh;
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

  /**
   * Returns why the stream breaks the limit or the framing, or null. `onPacketEnd`, when given, hears the offset
   * in `chunk` just past each packet that ends in it.
   */
  check(chunk: Buffer, onPacketEnd?: (offset: number) => void): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) {
          this.state = 'type';
          onPacketEnd?.(i);
        }
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
      if (this.length === 0) onPacketEnd?.(i);
    }
    return null;
  }
}

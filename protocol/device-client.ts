/**
 * A small helper for a Node publisher of a device: presence (a retained `offline` last will,
 * retained `online` and meta on every connect, `offline` before a clean disconnect), contract-checked
 * publishing, and a bounded queue that carries messages across reconnects.
 *
 *   const device = connectDevice({ url: 'mqtt://127.0.0.1:1883', device: 'pi', meta: () => meta });
 *   await device.publish('devices/pi/system/load', '0.42');
 *   await device.close();
 */
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import { checkMessage, deliveryFor, encodePayload, matchContract, type PayloadFor } from './contract';
import { fallBackTo311, protocolVersionFor, type ProtocolChoice } from './mqtt-version';
import { assertId } from './ids';
import type { DeviceMeta } from './payloads';
import { metaTopic, statusTopic } from './topics';

export interface DeviceClientOptions {
  url: string;
  device: string;
  /** Retained on `devices/{device}/meta` at every connect; null publishes no meta. */
  meta: () => DeviceMeta | null;
  /** QoS 1 messages kept while disconnected; past it the oldest are dropped and counted. */
  queueLimit?: number;
  /** Extra MQTT.js options (credentials, keepalive, reconnectPeriod, ...). */
  mqtt?: IClientOptions;
  /** `auto` (the default): MQTT 5, and 3.1.1 once a broker refuses 5 (then `onFallback` is called). */
  protocol?: ProtocolChoice;
  onFallback?: () => void;
}

/** Defaults: the contract's QoS and retain flag for a contract topic, QoS 0 and not retained for any other. */
export interface PublishOptions {
  qos?: 0 | 1;
  retain?: boolean;
}

interface Pending {
  topic: string;
  payload: string | Uint8Array;
  qos: 0 | 1;
  retain: boolean;
}

export const DEFAULT_QUEUE_LIMIT = 10_000;
/** At most this long between reconnect tries (MQTT.js waits reconnectPeriod between tries). */
export const RECONNECT_PERIOD_MS = 1000;

export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}

/**
 * What the device sends while the broker is away: QoS 1 messages wait in order (bounded, oldest dropped first);
 * of QoS 0 messages only the latest per topic is kept, since a newer position makes an older one useless.
 */
export class OfflineQueue {
  /** QoS 1 messages in a ring: `count` of them from `head`, so dropping the oldest is O(1) at any size. */
  private reliable: (Pending | undefined)[] = [];
  private head = 0;
  private count = 0;
  private latest = new Map<string, Pending>();
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(message: Pending): void {
    if (message.qos === 0) {
      this.latest.set(message.topic, message);
      return;
    }
    if (this.limit <= 0) {
      this.dropped += 1;
      return;
    }
    if (this.count < this.limit) {
      this.reliable[(this.head + this.count) % this.limit] = message;
      this.count += 1;
      return;
    }
    this.reliable[this.head] = message; // over the limit: the oldest gives way
    this.head = (this.head + 1) % this.limit;
    this.dropped += 1;
  }

  get size(): number {
    return this.count + this.latest.size;
  }

  /** Everything queued, oldest first; the latest-only messages last. Empties the queue. */
  drain(): Pending[] {
    const all: Pending[] = [];
    for (let i = 0; i < this.count; i++) all.push(this.reliable[(this.head + i) % this.limit]!);
    all.push(...this.latest.values());
    this.reliable = [];
    this.head = 0;
    this.count = 0;
    this.latest.clear();
    return all;
  }
}

/** A move older than this is worth nothing: with MQTT 5 the broker drops it rather than deliver it late. */
export const MOVE_EXPIRY_S = 1;

/**
 * What MQTT 5 lets a publish say about itself: a contract payload in JSON says so (content type, and that it is
 * UTF-8), and a move expires after MOVE_EXPIRY_S. Nothing for a free-form topic (its publisher knows best).
 */
export function mqtt5Properties(topic: string): IClientPublishOptions['properties'] | undefined {
  const match = matchContract(topic);
  if (!match) return undefined;
  const json = match.rule.format === 'json' ? { contentType: 'application/json', payloadFormatIndicator: true } : { payloadFormatIndicator: true };
  return match.pattern === 'devices/+/mouse/move' ? { ...json, messageExpiryInterval: MOVE_EXPIRY_S } : json;
}

/** How long close() waits for a connection to send what is queued before it gives up. */
export const CLOSE_TIMEOUT_MS = 10_000;

export class DeviceClient {
  readonly queue: OfflineQueue;
  private ready = false;
  /** The queued messages being sent after the last announce. */
  private flushing: Promise<unknown> = Promise.resolve();
  private readyWaiters = new Set<() => void>();

  constructor(
    readonly client: MqttClient,
    readonly device: string,
    private readonly meta: () => DeviceMeta | null,
    queueLimit = DEFAULT_QUEUE_LIMIT,
  ) {
    this.queue = new OfflineQueue(queueLimit);
    client.on('connect', () => void this.announce());
    client.on('close', () => (this.ready = false));
  }

  /** True once connected and announced: publishes go straight out. */
  get online(): boolean {
    return this.ready;
  }

  /**
   * Publishes with the contract's checks: a payload that breaks the contract throws InvalidPayloadError
   * instead of being dropped by the broker. While disconnected the message is queued (see OfflineQueue).
   */
  publish<T extends string>(topic: T, payload: PayloadFor<T>, options: PublishOptions = {}): Promise<void> {
    const bytes = encodePayload(topic, payload);
    const checked = checkMessage(topic, typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes);
    if (!checked.ok) return Promise.reject(new InvalidPayloadError(`not published to ${topic}: ${checked.reason}`));
    const delivery = deliveryFor(topic) ?? { qos: 0, retain: false };
    const message: Pending = { topic, payload: bytes, qos: options.qos ?? delivery.qos, retain: options.retain ?? delivery.retain };
    if (!this.ready) {
      this.queue.push(message);
      return Promise.resolve();
    }
    return this.send(message);
  }

  /** Publishes the current meta now (retained); while offline nothing is queued, since reconnecting announces it. */
  async updateMeta(): Promise<void> {
    const meta = this.meta();
    if (!this.ready || !meta) return;
    await this.send(this.contractMessage(metaTopic(this.device), JSON.stringify(meta)));
  }

  /**
   * Sends what is queued (waiting up to `timeoutMs` for a connection when there is something to send), publishes
   * `offline` itself (a clean DISCONNECT cancels the will), then disconnects. Without a connection in time it
   * stops trying and rejects with the number of messages that were not sent.
   */
  async close(timeoutMs = CLOSE_TIMEOUT_MS): Promise<void> {
    const mustWait = this.client.connected || this.queue.size > 0;
    if (!this.ready && mustWait) await this.untilReady(timeoutMs);
    if (!this.ready) {
      const unsent = this.queue.drain().length;
      this.client.end(true);
      if (unsent > 0) {
        throw new Error(`${unsent} queued message${unsent === 1 ? ' was' : 's were'} not sent: no connection to the broker within ${timeoutMs / 1000} s`);
      }
      return;
    }
    await this.flushing;
    // If this fails the connection is gone, and the broker publishes the will (`offline`) in its place.
    await this.send(this.contractMessage(statusTopic(this.device), 'offline')).catch(() => {});
    await this.client.endAsync();
  }

  private async announce(): Promise<void> {
    try {
      await this.send(this.contractMessage(statusTopic(this.device), 'online'));
      const meta = this.meta();
      if (meta) await this.send(this.contractMessage(metaTopic(this.device), JSON.stringify(meta)));
      // MQTT.js writes them in this order; close() waits for them before it says offline.
      this.flushing = Promise.allSettled(this.queue.drain().map((message) => this.send(message)));
      this.ready = this.client.connected;
      if (this.ready) for (const wake of this.readyWaiters) wake();
    } catch {
      // The connection dropped while announcing; the next 'connect' announces again.
    }
  }

  /** Resolves once announced, or after `timeoutMs` (check `ready`). */
  private untilReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.readyWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.readyWaiters.add(done);
    });
  }

  /** A presence message (status, meta) with the contract's QoS and retain flag. */
  private contractMessage(topic: string, payload: string): Pending {
    return { topic, payload, ...deliveryFor(topic)! };
  }

  private send(m: Pending): Promise<void> {
    const properties = this.client.options.protocolVersion === 5 ? mqtt5Properties(m.topic) : undefined;
    return this.client.publishAsync(m.topic, typeof m.payload === 'string' ? m.payload : Buffer.from(m.payload), { qos: m.qos, retain: m.retain, ...(properties && { properties }) }).then(() => {});
  }
}

/** Connects a device with its last will set, and returns its DeviceClient. */
export function connectDevice(options: DeviceClientOptions): DeviceClient {
  const device = assertId(options.device);
  const protocol = options.protocol ?? 'auto';
  const client = mqtt.connect(options.url, {
    protocolVersion: protocolVersionFor(protocol),
    clientId: `device-${device}`.slice(0, 64),
    reconnectPeriod: RECONNECT_PERIOD_MS,
    connectTimeout: 5000,
    keepalive: 10,
    queueQoSZero: false,
    ...options.mqtt,
    will: { topic: statusTopic(device), payload: Buffer.from('offline'), ...deliveryFor(statusTopic(device))! },
  });
  if (protocol === 'auto') fallBackTo311(client, options.onFallback ?? (() => {}));
  return new DeviceClient(client, device, options.meta, options.queueLimit);
}

import mqtt, { type MqttClient } from 'mqtt';
import { checkMessage, clientMessagesTopic, TOPIC_PATTERNS } from '../../../protocol';
import type { BrokerAddress } from './broker-url';
import { ClientMessages } from './state/client-messages';
import { DeviceRegistry } from './state/devices';
import { EventLog, logEntry } from './state/event-log';
import { TopicTable } from './state/topic-tree';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'login' | 'bad-address';

export interface Credentials {
  username: string;
  password: string;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5000;
const PUBLISH_TIMEOUT_MS = 5000;
const BASE_SUBSCRIPTIONS = [TOPIC_PATTERNS.allDevices, TOPIC_PATTERNS.clientMessages];

/**
 * The page's one MQTT connection and everything it has seen. Messages update plain models at once; each
 * model tells its readers at most once per animation frame (see FrameSignal), so the page renders once per
 * frame however many messages arrive.
 */
export class LiveStore {
  connection = $state<ConnectionState>('connecting');
  nextTryAt = $state<number | null>(null);
  lastError = $state<string | null>(null);
  /** Why the broker wants (other) credentials; shown above the login form. */
  loginReason = $state<string | null>(null);
  extraSubscriptions = $state<string[]>([]);

  readonly devices = new DeviceRegistry();
  readonly topics = new TopicTable();
  readonly log = new EventLog();
  readonly messages = new ClientMessages();

  readonly url: string;
  private readonly addressProblem: string | null;
  private client: MqttClient | undefined;
  private retryMs = FIRST_RETRY_MS;
  private watchingNetwork = false;

  constructor(
    broker: BrokerAddress,
    readonly viewerId: string,
  ) {
    this.url = broker.url;
    this.addressProblem = broker.problem;
  }

  /** Connects; credentials live only in this object's memory (never in the URL, storage or logs). */
  start(credentials?: Credentials): void {
    if (this.addressProblem) {
      this.connection = 'bad-address';
      this.lastError = this.addressProblem;
      return;
    }
    // Why a try failed, when MQTT.js gives no error of its own (a WebSocket that cannot open gives none).
    let connectedThisTry = false;
    let errorThisTry = false;
    const client = mqtt.connect(this.url, {
      ...credentials,
      clientId: this.viewerId,
      reconnectPeriod: FIRST_RETRY_MS,
      connectTimeout: 5000,
      keepalive: 20,
      resubscribe: true,
    });
    this.client = client;
    client.on('connect', () => {
      connectedThisTry = true;
      this.connection = 'connected';
      this.nextTryAt = null;
      this.lastError = null;
      this.retryMs = FIRST_RETRY_MS;
      client.options.reconnectPeriod = FIRST_RETRY_MS;
      client.subscribe([...BASE_SUBSCRIPTIONS, ...this.extraSubscriptions], { qos: 1 });
    });
    client.on('close', () => {
      // MQTT.js waits reconnectPeriod before its next try; back off up to MAX_RETRY_MS for the one after.
      this.nextTryAt = Date.now() + this.retryMs;
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      client.options.reconnectPeriod = this.retryMs;
      if (this.connection === 'login') return;
      if (connectedThisTry) this.lastError = 'the connection to the broker was lost';
      else if (!errorThisTry) this.lastError = `cannot reach a broker at ${this.url}: nothing answers there, or it is not MQTT over WebSocket`;
      this.connection = navigator.onLine ? 'reconnecting' : 'offline';
    });
    client.on('reconnect', () => {
      connectedThisTry = false;
      errorThisTry = false;
      this.nextTryAt = null;
      if (this.connection !== 'offline' && this.connection !== 'login') this.connection = 'reconnecting';
    });
    client.on('error', (error) => {
      const code = (error as { code?: number }).code;
      if (code === 4 || code === 5) {
        // CONNACK 4 (bad user name or password) or 5 (not authorized): ask the person, stop retrying.
        this.loginReason = code === 4 && credentials ? 'Wrong user name or password.' : 'This broker asks for a user name and password.';
        this.connection = 'login';
        this.nextTryAt = null;
        client.end(true);
        return;
      }
      errorThisTry = true;
      this.lastError = error.message;
    });
    client.on('message', (topic, payload, packet) => this.receive(topic, payload, packet.retain));
    if (!this.watchingNetwork) {
      this.watchingNetwork = true;
      addEventListener('offline', () => (this.connection = 'offline'));
      addEventListener('online', () => {
        // The socket may have survived a short loss of network: then it is simply connected again.
        if (this.connection === 'offline') this.connection = this.client?.connected ? 'connected' : 'reconnecting';
      });
    }
  }

  stop(): void {
    this.client?.end(true);
  }

  login(credentials: Credentials): void {
    this.client?.removeAllListeners();
    this.client?.end(true);
    this.connection = 'connecting';
    this.start(credentials);
  }

  /** Publishes a reply on clients/{viewerId}/messages; rejects with a reason a person can read. */
  async send(text: string): Promise<void> {
    const client = this.client;
    if (!client || this.connection !== 'connected') throw new Error('not connected to the broker');
    const topic = clientMessagesTopic(this.viewerId);
    const payload = JSON.stringify({ text, ts: Date.now() });
    const checked = checkMessage(topic, new TextEncoder().encode(payload));
    if (!checked.ok) throw new Error(checked.reason);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the broker did not acknowledge the message')), PUBLISH_TIMEOUT_MS);
    });
    try {
      await Promise.race([client.publishAsync(topic, payload, { qos: 1 }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Adds a subscription (any topic filter) for the topic explorer. */
  async subscribe(filter: string): Promise<void> {
    if (!this.client || this.connection !== 'connected') throw new Error('not connected to the broker');
    const refused = new Error(`the broker refused the subscription to "${filter}": this user may not read it`);
    let granted;
    try {
      granted = await this.client.subscribeAsync(filter, { qos: 1 });
    } catch (error) {
      // MQTT.js rejects a SUBACK 0x80 as "Unspecified error", which names neither the filter nor who refused;
      // the SUBACK it carries says what happened.
      const granted = (error as { packet?: { granted?: (number | { qos: number })[] } }).packet?.granted ?? [];
      if (granted.some((g) => ((typeof g === 'number' ? g : g.qos) & 0x80) !== 0)) throw refused;
      throw new Error(`could not subscribe to "${filter}": ${(error as Error).message}`);
    }
    if (granted.some((g) => g.qos === 128)) throw refused;
    if (!this.extraSubscriptions.includes(filter)) this.extraSubscriptions = [...this.extraSubscriptions, filter];
  }

  /** Applies one message to the models; exported for tests and benchmarks. */
  receive(topic: string, payload: Uint8Array, retained: boolean): void {
    const now = Date.now();
    const formatted = this.topics.record(topic, payload, retained, now);
    let mouse = null;
    if (topic.startsWith('clients/')) this.messages.apply(topic, payload);
    else mouse = this.devices.apply(topic, payload, now, retained);
    // The log is for what happens now; retained messages are state from before.
    if (!retained) this.log.add(logEntry(topic, formatted, mouse, now));
  }
}

import type { Action, ConnectionInfo, ConnectionState, Credentials, Frame, Report } from './bridge';
import type { BrokerAddress } from './broker-url';
import { ClientMessages } from './view/client-messages';
import { DeviceList } from './view/devices';
import { EventLog } from './view/event-log';
import { TopicTree } from './view/topic-tree';

export type { ConnectionState, Credentials } from './bridge';

/**
 * The page's side of the live view. The MQTT connection, payload decoding and the models' bookkeeping run
 * in a Web Worker (worker/live-connection.ts); this store only holds what the worker last reported, once per
 * frame at most, in models the panels read (each with a FrameSignal), and passes the person's actions on.
 *   worker: connection + models  --Frame-->  page: these models  -->  panels
 *   panels  --Action-->  worker
 */
export class LiveStore {
  connection = $state<ConnectionState>('connecting');
  nextTryAt = $state<number | null>(null);
  lastError = $state<string | null>(null);
  loginReason = $state<string | null>(null);
  extraSubscriptions = $state<string[]>([]);

  readonly devices = new DeviceList();
  readonly topics = new TopicTree();
  readonly log = new EventLog();
  readonly messages = new ClientMessages();

  readonly url: string;
  private readonly addressProblem: string | null;
  private worker: Worker | undefined;
  private nextActionId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly onNetwork = () => this.post({ type: 'network', online: navigator.onLine });

  constructor(
    broker: BrokerAddress,
    readonly viewerId: string,
  ) {
    this.url = broker.url;
    this.addressProblem = broker.problem;
  }

  start(): void {
    if (this.addressProblem) {
      this.connection = 'bad-address';
      this.lastError = this.addressProblem;
      return;
    }
    const worker = new Worker(new URL('./worker/live.worker.ts', import.meta.url), { type: 'module', name: 'mqlive-connection' });
    this.worker = worker;
    worker.addEventListener('message', (event: MessageEvent<Report>) => this.receive(event.data));
    worker.addEventListener('error', (event) => {
      this.lastError = `the page's connection worker failed: ${event.message || 'it could not be loaded'}`;
    });
    addEventListener('online', this.onNetwork);
    addEventListener('offline', this.onNetwork);
    this.post({ type: 'start', url: this.url, viewerId: this.viewerId, online: navigator.onLine });
  }

  stop(): void {
    removeEventListener('online', this.onNetwork);
    removeEventListener('offline', this.onNetwork);
    this.post({ type: 'stop' });
    this.worker?.terminate();
    this.worker = undefined;
  }

  /** Credentials go to the worker's memory only (never the URL, storage or logs). */
  login(credentials: Credentials): void {
    this.connection = 'connecting';
    this.post({ type: 'login', credentials: { ...credentials } });
  }

  /** Publishes a reply on clients/{viewerId}/messages; rejects with a reason a person can read. */
  send(text: string): Promise<void> {
    return this.request((id) => ({ type: 'send', id, text }));
  }

  /** Adds a subscription (any topic filter) for the topic explorer; rejects with the broker's refusal. */
  subscribe(filter: string): Promise<void> {
    return this.request((id) => ({ type: 'subscribe', id, filter }));
  }

  /** Applies one report of the worker; public for tests and benchmarks. */
  receive(report: Report): void {
    if (report.type === 'done') {
      const waiting = this.pending.get(report.id);
      this.pending.delete(report.id);
      if (report.error === null) waiting?.resolve();
      else waiting?.reject(new Error(report.error));
      return;
    }
    this.applyFrame(report.frame);
  }

  private applyFrame(frame: Frame): void {
    if (frame.connection) this.applyConnection(frame.connection);
    this.devices.apply(frame.devices);
    this.topics.apply(frame.topics, frame.topicOverflow);
    this.log.addAll(frame.log);
    this.messages.addAll(frame.messages);
  }

  private applyConnection(info: ConnectionInfo): void {
    this.connection = info.connection;
    this.nextTryAt = info.nextTryAt;
    this.lastError = info.lastError;
    this.loginReason = info.loginReason;
    if (info.extraSubscriptions.join('\n') !== this.extraSubscriptions.join('\n')) this.extraSubscriptions = info.extraSubscriptions;
  }

  private request(action: (id: number) => Action): Promise<void> {
    if (!this.worker || this.connection !== 'connected') return Promise.reject(new Error('not connected to the broker'));
    const id = this.nextActionId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.post(action(id));
    });
  }

  private post(action: Action): void {
    this.worker?.postMessage(action);
  }
}

import type { Action, ConnectionInfo, ConnectionState, Credentials, Frame, Report } from './bridge';
import type { BrokerAddress } from './broker-url';
import { ClientMessages } from './view/client-messages';
import { DeviceList } from './view/devices';
import { EventLog } from './view/event-log';
import { LatencyTable } from './view/latency';
import type { PlaybackInfo } from './worker/playback';
import { TopicHistory } from './view/topic-history';
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

  // Replaced, not emptied, when the worker starts its models again (a recording opened or played back).
  devices = $state(new DeviceList());
  topics = $state(new TopicTree());
  /** The selected topic's (or branch's) path; '' for none. */
  selectedPath = $state('');
  /** The selected topic's last messages (only a topic has them, not a branch). */
  history = $state(new TopicHistory());
  log = $state(new EventLog());
  messages = $state(new ClientMessages());
  latency = $state(new LatencyTable());
  /** Whether what the page receives is being recorded. */
  recording = $state(false);
  /** The recording being played instead of a broker, once one is opened. */
  playback = $state<PlaybackInfo | null>(null);

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

  /** Shows the page of a topic or branch ('' for none); the worker sends a topic's messages from now on. */
  select(path: string): void {
    this.selectedPath = path;
    const topic = path && this.topics.get(path) ? path : null;
    this.history.select(topic);
    this.post({ type: 'select', topic });
  }

  /** Starts or stops recording; stopping downloads the recording (a .jsonl file). */
  record(on: boolean): void {
    this.post({ type: 'record', on });
  }

  /** Leaves the broker and plays a recording file instead; rejects with what is wrong with the file. */
  async open(file: File): Promise<void> {
    const text = await file.text();
    return this.request((id) => ({ type: 'open', id, name: file.name, text }), false);
  }

  /** Play or pause, speed, and seek of the recording being played. */
  control(change: { play?: boolean; speed?: number; seekMs?: number }): void {
    this.post({ type: 'playback', ...change });
  }

  /** Applies one report of the worker; public for tests and benchmarks. */
  receive(report: Report): void {
    if (report.type === 'recording') return download(report.name, report.text);
    if (report.type === 'done') {
      const waiting = this.pending.get(report.id);
      this.pending.delete(report.id);
      if (report.error === null) waiting?.resolve();
      else waiting?.reject(new Error(report.error));
      return;
    }
    this.applyFrame(report.frame);
    this.askForNextFrame();
  }

  private frameAsked = false;
  /** The worker's next frame waits for the page's next animation frame (so one frame of changes per frame painted). */
  private askForNextFrame(): void {
    if (this.frameAsked || !this.worker || typeof requestAnimationFrame !== 'function') return;
    this.frameAsked = true;
    requestAnimationFrame(() => {
      this.frameAsked = false;
      this.post({ type: 'painted' });
    });
  }

  private applyFrame(frame: Frame): void {
    if (frame.reset) {
      this.devices = new DeviceList();
      this.topics = new TopicTree();
      this.history = new TopicHistory();
      this.history.select(this.selectedPath || null);
      this.log = new EventLog();
      this.messages = new ClientMessages();
      this.latency = new LatencyTable();
    }
    if (frame.connection) this.applyConnection(frame.connection);
    if (frame.recording !== undefined) this.recording = frame.recording;
    if (frame.playback) this.playback = frame.playback;
    this.latency.apply(frame.latency);
    this.devices.apply(frame.devices);
    this.topics.apply(frame.topics, frame.topicOverflow);
    if (frame.selected) this.history.apply(frame.selected);
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

  private request(action: (id: number) => Action, needsBroker = true): Promise<void> {
    if (!this.worker) return Promise.reject(new Error("the page's connection worker is not running"));
    if (needsBroker && this.connection !== 'connected') return Promise.reject(new Error('not connected to the broker'));
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

/** Hands `text` to the browser as a file download. */
function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

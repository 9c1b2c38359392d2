import type { Action, ConnectionInfo, ConnectionState, Credentials, Frame, PublishRequest, Report, SavedSubscription } from './bridge';
import { brokerProblem, type BrokerAddress } from './broker-url';
import { loginText, problemOf, problemText, ProblemError, refusalDetail } from './problems';
import {
  deleteConnection,
  MAX_SAVED_SUBSCRIPTIONS,
  rememberBroker,
  rememberedBroker,
  renameConnection,
  saveConnection,
  savedConnections,
  savedSubscriptions,
  saveSubscriptions,
  type RememberedBroker,
  type SavedConnection,
} from './saved-brokers';
import { RateMeter } from './state/rate';
import { PublishHistory } from './view/publish-history';
import { ClientMessages } from './view/client-messages';
import { DeviceList } from './view/devices';
import { EventLog } from './view/event-log';
import { LatencyTable } from './view/latency';
import type { PlaybackInfo } from './worker/playback';
import { TopicHistory } from './view/topic-history';
import { TopicTree } from './view/topic-tree';

export type { ConnectionState, Credentials, PublishRequest, SavedSubscription } from './bridge';

/** Above this many messages a second coming in, the subscriptions panel warns (the page is for watching, not bulk). */
export const BUSY_MESSAGES_PER_SECOND = 300;

/** The page's localStorage, or null where the browser refuses it (then nothing is remembered). */
function browserStorage(): Storage | null {
  try {
    return localStorage;
  } catch {
    return null;
  }
}

/** How the connection form wants a broker remembered: not at all, its address and user name, or with the password too. */
export type Remember = 'no' | 'broker' | 'broker-and-password';

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
  /** The connection's MQTT version: 5, or 4 (3.1.1) for a broker that refuses 5; null before one is made. */
  protocol = $state<5 | 4 | null>(null);
  /** The broker's WebSocket URL (the page's own origin, `?broker=`, a remembered one, or one the person chose). */
  url = $state('');
  /** The filters the person added for this broker (localStorage), with their QoS. */
  subscriptions = $state<SavedSubscription[]>([]);
  /** Whether the connection form is open (it also opens by itself when the broker asks for a login). */
  showConnectionForm = $state(false);
  /** The broker remembered in this browser, if any. */
  remembered = $state<RememberedBroker | null>(null);
  /** The connections saved in this browser (name, URL, user name), for the header's quick switch. */
  connections = $state<SavedConnection[]>([]);
  /** What the Publish panel sent and what became of it. */
  readonly published = new PublishHistory();
  /** Messages a second coming in, all subscriptions together (read with the clock); new for each broker. */
  incoming = new RateMeter(5);
  /** The user name the page connects with, if any (shown in the header once connected). */
  user = $state<string | null>(null);

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

  private addressProblem: string | null;
  private worker: Worker | undefined;
  private nextActionId = 0;
  private readonly pending = new Map<number, { resolve: (topics?: string[]) => void; reject: (error: Error) => void }>();
  private readonly onNetwork = () => this.post({ type: 'network', online: navigator.onLine });

  constructor(
    broker: BrokerAddress,
    readonly viewerId: string,
  ) {
    this.url = broker.url;
    this.addressProblem = broker.problem;
  }

  start(): void {
    this.remembered = rememberedBroker(browserStorage());
    this.connections = savedConnections(browserStorage());
    // A ?broker= (or a bad one) decides; else a remembered broker; else the page's own origin.
    const fromQuery = typeof location !== 'undefined' && new URLSearchParams(location.search).has('broker');
    let credentials: Credentials | null = null;
    if (this.remembered && !fromQuery && !this.addressProblem) {
      this.url = this.remembered.url;
      if (this.remembered.password !== undefined) credentials = { username: this.remembered.username, password: this.remembered.password };
    }
    this.user = credentials?.username || null;
    this.subscriptions = savedSubscriptions(browserStorage(), this.url);
    if (this.addressProblem) {
      this.connection = 'bad-address';
      this.lastError = this.addressProblem;
      return;
    }
    this.startWorker();
    this.post({ type: 'connect', url: this.url, credentials, subscriptions: $state.snapshot(this.subscriptions) });
  }

  private startWorker(): void {
    const worker = new Worker(new URL('./worker/live.worker.ts', import.meta.url), { type: 'module', name: 'mqlive-connection' });
    this.worker = worker;
    worker.addEventListener('message', (event: MessageEvent<Report>) => this.receive(event.data));
    worker.addEventListener('error', (event) => {
      this.lastError = `the page's connection worker failed: ${event.message || 'it could not be loaded'}`;
    });
    addEventListener('online', this.onNetwork);
    addEventListener('offline', this.onNetwork);
    this.post({ type: 'start', viewerId: this.viewerId, online: navigator.onLine });
  }

  stop(): void {
    removeEventListener('online', this.onNetwork);
    removeEventListener('offline', this.onNetwork);
    this.post({ type: 'stop' });
    this.worker?.terminate();
    this.worker = undefined;
  }

  /**
   * Connects to `url` (another broker, or the same one with credentials). Credentials go to the worker's memory;
   * into localStorage only with 'broker-and-password'. Remembered, the broker is also a saved connection named
   * `name` (empty: its host); not remembered, it leaves the saved connections. Throws with the problem of an
   * address that cannot be one, or when the saved connections are full.
   */
  connectTo(url: string, credentials: Credentials | null, remember: Remember = 'no', name = ''): void {
    const problem = brokerProblem(url, '');
    if (problem) throw new Error(problem);
    const storage = browserStorage();
    const username = credentials?.username ?? '';
    if (remember === 'no') {
      this.connections = deleteConnection(storage, { url, username });
      rememberBroker(storage, null);
    } else {
      const broker = { url, username, ...(remember === 'broker-and-password' && credentials && { password: credentials.password }) };
      this.connections = saveConnection(storage, { name, ...broker });
      rememberBroker(storage, broker);
    }
    this.remembered = rememberedBroker(storage);
    this.openBroker(url, credentials);
  }

  /** Connects to a saved connection (with its password if one is stored) and makes it the one the page opens with. */
  switchTo(connection: SavedConnection): void {
    const { url, username, password } = connection;
    rememberBroker(browserStorage(), { url, username, ...(password !== undefined && { password }) });
    this.remembered = rememberedBroker(browserStorage());
    this.openBroker(url, password !== undefined ? { username, password } : null);
  }

  /** Gives a saved connection another name. */
  renameConnection(which: SavedConnection, name: string): void {
    this.connections = renameConnection(browserStorage(), which, name);
  }

  /** Deletes a saved connection (the broker in use stays connected). */
  deleteConnection(which: SavedConnection): void {
    this.connections = deleteConnection(browserStorage(), which);
    this.remembered = rememberedBroker(browserStorage());
  }

  private openBroker(url: string, credentials: Credentials | null): void {
    const storage = browserStorage();
    if (url !== this.url) this.subscriptions = savedSubscriptions(storage, url);
    this.url = url;
    this.user = credentials?.username || null;
    // Another broker's traffic must not set off this one's busy warning.
    this.incoming = new RateMeter(5);
    this.addressProblem = null;
    this.connection = 'connecting';
    this.lastError = null;
    this.showConnectionForm = false;
    this.playback = null;
    if (!this.worker) this.startWorker();
    this.post({ type: 'connect', url, credentials: credentials && { ...credentials }, subscriptions: $state.snapshot(this.subscriptions) });
  }

  /** Publishes a reply on clients/{viewerId}/messages; rejects with a reason a person can read. */
  async send(text: string): Promise<void> {
    await this.request((id) => ({ type: 'send', id, text }));
  }

  /** Adds a subscription (any topic filter), kept for this broker; rejects with the broker's refusal. */
  async subscribe(filter: string, qos: 0 | 1 = 1): Promise<void> {
    const isNew = !this.subscriptions.some((s) => s.filter === filter);
    if (isNew && this.subscriptions.length >= MAX_SAVED_SUBSCRIPTIONS) throw new Error(`${MAX_SAVED_SUBSCRIPTIONS} subscriptions at most: remove one first`);
    await this.request((id) => ({ type: 'subscribe', id, filter, qos }));
    this.keepSubscriptions([...this.subscriptions.filter((s) => s.filter !== filter), { filter, qos }]);
  }

  /** Removes a subscription the person added: the broker stops sending it, and it is forgotten for this broker. */
  async unsubscribe(filter: string): Promise<void> {
    // Forgotten once the broker has it (UNSUBACK), so a row gone from the panel is a subscription gone there.
    await this.request((id) => ({ type: 'unsubscribe', id, filter }), false);
    this.keepSubscriptions(this.subscriptions.filter((s) => s.filter !== filter));
  }

  private keepSubscriptions(subscriptions: SavedSubscription[]): void {
    this.subscriptions = subscriptions;
    saveSubscriptions(browserStorage(), this.url, $state.snapshot(subscriptions));
  }

  /** Publishes from the Publish panel, noted in `published` (refused: with what the broker said); rejects with why. */
  async publish(request: PublishRequest): Promise<void> {
    const row = this.published.add(request, Date.now());
    try {
      await this.request((id) => ({ type: 'publish', id, request: { ...request } }));
      this.published.settle(row, 'sent');
    } catch (error) {
      const problem = problemOf(error);
      const refusal = refusalDetail(problem);
      this.published.settle(row, refusal !== null ? 'refused' : 'failed', refusal ?? problemText(problem));
      throw error;
    }
  }

  /** The topics at `branch` or below it that hold a retained message, as far as this page has seen (over MQTT 3.1.1: every topic it has seen there). */
  async retainedUnder(branch: string): Promise<string[]> {
    return (await this.request((id) => ({ type: 'retained', id, branch }), false)) ?? [];
  }

  /** Clears the retained message of each topic (an empty retained publish); rejects naming those the broker refused. */
  async clearRetained(topics: string[]): Promise<void> {
    await this.request((id) => ({ type: 'clear', id, topics: [...topics] }));
  }

  /** Takes a device off the list (nothing retained keeps it there); it comes back if it sends again. */
  forgetDevice(id: string): void {
    this.post({ type: 'forget', device: id });
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
    await this.request((id) => ({ type: 'open', id, name: file.name, text }), false);
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
      if (report.error === null) waiting?.resolve(report.topics);
      else waiting?.reject(new ProblemError(report.error));
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
    this.latency.apply(frame.latency, Date.now());
    this.devices.apply(frame.devices);
    this.topics.apply(frame.topics, frame.topicOverflow, frame.topicsRemoved);
    if (frame.selected) this.history.apply(frame.selected);
    this.log.addAll(frame.log);
    this.messages.addAll(frame.messages);
    for (const notice of frame.refusals) this.published.refusedLater(notice);
    if (frame.received > 0) this.incoming.add(Date.now(), frame.received);
  }

  private applyConnection(info: ConnectionInfo): void {
    this.connection = info.connection;
    this.nextTryAt = info.nextTryAt;
    this.lastError = info.lastError && problemText(info.lastError);
    this.loginReason = info.loginReason && loginText(info.loginReason);
    this.protocol = info.protocol;
    if (info.extraSubscriptions.join('\n') !== this.extraSubscriptions.join('\n')) this.extraSubscriptions = info.extraSubscriptions;
  }

  private request(action: (id: number) => Action, needsBroker = true): Promise<string[] | undefined> {
    if (!this.worker) return Promise.reject(new Error("the page's connection worker is not running"));
    if (needsBroker && this.connection !== 'connected') return Promise.reject(new ProblemError({ code: 'not-connected' }));
    const id = this.nextActionId++;
    return new Promise<string[] | undefined>((resolve, reject) => {
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

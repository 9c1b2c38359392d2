import mqtt, { type MqttClient } from 'mqtt';
import { checkMessage, clientMessagesTopic, deliveryFor, refusedTopic, TOPIC_PATTERNS, type ClientMessage, type RefusalNotice } from '../../../../protocol';
import type { Action, ClientMessageEntry, ConnectionInfo, Credentials, Frame, Report, SavedSubscription } from '../bridge';
import { DeviceRegistry } from '../state/devices';
import { LogBatch, logEntry } from '../state/event-log';
import { checkFormatted, formatPayload } from '../state/payload-format';
import { TopicStatsTable } from '../state/topic-stats';
import { LatencyMeter } from './latency';
import { PageRecorder, RetainedState } from './page-recorder';
import { Playback } from './playback';
import { publishTold, RefusalWatch, type PublishRequest } from './publishing';
import { parseRecording } from '../../../../protocol/recording';
import { fallBackTo311, leadsToFallback } from '../../../../protocol/mqtt-version';
import { propertyLines, type PropertyLine, type ReceivedProperties } from '../state/mqtt5';
import { problemOf, ProblemError, type Problem } from '../problems';
import { StoredMessages } from './stored-messages';

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 5000;
/** At most this many topics cleared by one "Clear retained" (each is a publish; the broker limits their rate). */
export const MAX_CLEAR_TOPICS = 1000;
/** Refusal notices passed to the page per frame at most. */
const NOTICES_PER_FRAME = 50;
const BASE_SUBSCRIPTIONS = [TOPIC_PATTERNS.allDevices, TOPIC_PATTERNS.clientMessages];
/** CONNACK codes that ask for (other) credentials: MQTT 3.1.1's 4 and 5, MQTT 5's 0x86 and 0x87. */
const LOGIN_CODES = new Set([4, 5, 0x86, 0x87]);
/** How often the page hears of changes at most until it says it paints (then: once per animation frame). */
export const FRAME_MS = 16;
/** How often it hears of them when it paints nothing (a hidden tab has no animation frames), so nothing piles up. */
export const UNPAINTED_FRAME_MS = 250;

/**
 * The page's one MQTT connection and everything it has seen, run in a Web Worker: MQTT.js parses the
 * packets here, each payload is decoded once here, and the models are kept here. The page gets, at most
 * once per frame, what changed (`Frame`), and sends the person's actions (`Action`).
 */
export class LiveConnection {
  private info: ConnectionInfo = { connection: 'connecting', nextTryAt: null, lastError: null, loginReason: null, extraSubscriptions: [], protocol: null };
  private infoChanged = true;
  private devices = new DeviceRegistry();
  private topics = new TopicStatsTable();
  private log = new LogBatch();
  private latency = new LatencyMeter();
  private readonly retained = new RetainedState();
  private recorder: PageRecorder | undefined;
  private playback: Playback | undefined;
  private reset = false;
  private recordingChanged = false;
  private playbackChanged = false;
  private messages: ClientMessageEntry[] = [];
  private readonly refusals = new RefusalWatch();
  private notices: RefusalNotice[] = [];
  private received = 0;
  private subscriptions: SavedSubscription[] = [];
  private readonly stored = new StoredMessages();

  private url = '';
  private viewerId = '';
  /** Where the broker tells this page of its refused publishes ($mqlive/clients/{viewerId}/refused). */
  private noticeTopic = '';
  private online = true;
  private client: MqttClient | undefined;
  private retryMs = FIRST_RETRY_MS;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** Changes wait to be sent. */
  private frameDue = false;
  /** The page paces frames by its animation frames ('painted'), and has painted since the last one. */
  private pagePaced = false;
  private pageReady = false;

  constructor(private readonly report: (report: Report) => void) {}

  handle(action: Action): void {
    switch (action.type) {
      case 'start':
        this.viewerId = action.viewerId;
        this.noticeTopic = refusedTopic(action.viewerId);
        this.online = action.online;
        return;
      case 'connect':
        this.client?.removeAllListeners();
        this.client?.end(true);
        this.client = undefined;
        // Another broker, or back from a recording: the views start afresh.
        if ((this.url !== '' && action.url !== this.url) || this.playback) {
          this.playback?.stop();
          this.playback = undefined;
          this.record(false);
          this.retained.clear();
          this.startModelsAgain();
        }
        this.url = action.url;
        this.subscriptions = action.subscriptions;
        this.update({ connection: 'connecting', lastError: null, loginReason: null, nextTryAt: null, extraSubscriptions: [], protocol: null });
        this.connect(action.credentials ?? undefined);
        return;
      case 'send':
        this.answer(action.id, this.send(action.text));
        return;
      case 'subscribe':
        this.answer(action.id, this.subscribe(action.filter, action.qos ?? 1));
        return;
      case 'unsubscribe':
        this.answer(action.id, this.unsubscribe(action.filter));
        return;
      case 'publish':
        this.answer(action.id, this.publish(action.request));
        return;
      case 'retained':
        this.report({ type: 'done', id: action.id, error: null, topics: this.retainedUnder(action.branch) });
        return;
      case 'clear':
        this.answer(action.id, this.clear(action.topics));
        return;
      case 'forget':
        this.devices.forget(action.device);
        this.scheduleFrame();
        return;
      case 'network':
        this.online = action.online;
        // The socket may have survived a short loss of network: then it is simply connected again.
        if (!action.online) this.update({ connection: 'offline' });
        else if (this.info.connection === 'offline') this.update({ connection: this.client?.connected ? 'connected' : 'reconnecting' });
        return;
      case 'stop':
        this.client?.end(true);
        this.playback?.stop();
        return;
      case 'record':
        this.record(action.on);
        return;
      case 'open':
        this.answer(action.id, this.open(action.name, action.text));
        return;
      case 'select':
        this.topics.select(action.topic);
        this.scheduleFrame();
        return;
      case 'painted':
        this.pagePaced = true;
        this.pageReady = true;
        if (this.frameDue) this.sendFrame();
        return;
      case 'playback':
        if (action.speed !== undefined) this.playback?.setSpeed(action.speed);
        if (action.seekMs !== undefined) this.playback?.seek(action.seekMs);
        if (action.play === true) this.playback?.play();
        if (action.play === false) this.playback?.pause();
        return;
    }
  }

  /** Credentials live only in this worker's memory (never in the URL, storage or logs). */
  private connect(credentials?: Credentials): void {
    // Why a try failed, when MQTT.js gives no error of its own (a WebSocket that cannot open gives none).
    let connectedThisTry = false;
    let errorThisTry = false;
    let fallingBack = false;
    const client = mqtt.connect(this.url, {
      ...credentials,
      // MQTT 5, and 3.1.1 from the moment this broker refuses 5 (fallBackTo311; the header says which).
      protocolVersion: 5,
      clientId: this.viewerId,
      reconnectPeriod: FIRST_RETRY_MS,
      connectTimeout: 5000,
      keepalive: 20,
      resubscribe: true,
    });
    this.client = client;
    // Registered before the page's own 'error' listener, so that one knows a refusal that leads to the fall-back.
    fallBackTo311(client, () => undefined);
    client.on('connect', () => {
      connectedThisTry = true;
      this.retryMs = FIRST_RETRY_MS;
      client.options.reconnectPeriod = FIRST_RETRY_MS;
      this.stored.clear();
      this.update({ connection: 'connected', nextTryAt: null, lastError: null, protocol: client.options.protocolVersion === 5 ? 5 : 4 });
      const filters: Record<string, { qos: 0 | 1; rap?: boolean }> = {};
      for (const f of BASE_SUBSCRIPTIONS) filters[f] = this.subscriptionOptions(1);
      for (const s of this.subscriptions) filters[s.filter] = this.subscriptionOptions(s.qos);
      // The broker's notices of this page's refused publishes (mqlive's broker; others refuse the filter or stay silent).
      filters[this.noticeTopic] = { qos: 0 };
      client.subscribe(filters, (_error, granted) => {
        const ok = (granted ?? []).filter((g) => g.qos !== 128).map((g) => g.topic);
        this.update({ extraSubscriptions: this.subscriptions.map((s) => s.filter).filter((f) => ok.includes(f)) });
      });
    });
    client.on('close', () => {
      if (fallingBack) {
        // fallBackTo311 connects again at once, in MQTT 3.1.1: nothing failed.
        fallingBack = false;
        return this.update({ connection: 'connecting', lastError: null });
      }
      // MQTT.js waits reconnectPeriod before its next try; back off up to MAX_RETRY_MS for the one after.
      const nextTryAt = Date.now() + this.retryMs;
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      client.options.reconnectPeriod = this.retryMs;
      if (this.info.connection === 'login') return this.update({ nextTryAt });
      let lastError = this.info.lastError;
      if (connectedThisTry) lastError = { code: 'connection-lost' };
      else if (!errorThisTry) lastError = { code: 'unreachable', url: this.url };
      this.update({ nextTryAt, lastError, connection: this.online ? 'reconnecting' : 'offline' });
    });
    client.on('reconnect', () => {
      connectedThisTry = false;
      errorThisTry = false;
      const c = this.info.connection;
      this.update({ nextTryAt: null, connection: c !== 'offline' && c !== 'login' ? 'reconnecting' : c });
    });
    client.on('error', (error) => {
      if (leadsToFallback(error)) {
        fallingBack = true;
        return;
      }
      const code = (error as { code?: number }).code;
      if (code !== undefined && LOGIN_CODES.has(code)) {
        // CONNACK 4 / 0x86 (bad user name or password) or 5 / 0x87 (not authorized): ask the person, stop retrying.
        const loginReason = (code === 4 || code === 0x86) && credentials ? 'wrong-credentials' : 'login-required';
        this.update({ loginReason, connection: 'login', nextTryAt: null });
        client.end(true);
        return;
      }
      errorThisTry = true;
      this.update({ lastError: { code: 'client-error', message: error.message } });
    });
    client.on('message', (topic, payload, packet) => {
      this.received += 1;
      if (topic === this.noticeTopic) return this.heardRefusal(payload);
      // Over MQTT 5 the retain flag is as published (subscriptionOptions): a live retained message keeps it.
      this.retained.note(topic, payload, packet.qos, packet.retain || this.isClear(payload, packet.retain));
      if (this.recorder && !this.recorder.add(topic, payload, packet.qos, packet.retain, Date.now())) this.record(false);
      const fromStore = this.stored.fromStore(topic, packet.retain, client.options.protocolVersion === 5);
      this.receive(topic, payload, packet.retain, undefined, packet.qos, propertyLines(packet.properties as ReceivedProperties | undefined), fromStore);
    });
  }

  /** MQTT 5 subscriptions keep the retain flag as published, so a retained message that comes live is known as one. */
  private subscriptionOptions(qos: 0 | 1): { qos: 0 | 1; rap?: boolean } {
    return this.info.protocol === 5 ? { qos, rap: true } : { qos };
  }

  /**
   * Whether a message clears its topic's retained message: an empty one with the retain flag. Over MQTT 5 the flag
   * is as published; over MQTT 3.1.1 (and in a recording played back) a broker forwards a clear without it, so
   * every empty message is taken as one (an empty message that is not retained is rare, and looks the same).
   */
  private isClear(payload: Uint8Array, retain: boolean): boolean {
    return payload.length === 0 && (retain || this.info.protocol !== 5);
  }

  /**
   * The topics at `branch` or below that hold a retained message as far as the page knows: over MQTT 5 exactly
   * those (the retain flag is as published, and the page sees every clear). Over MQTT 3.1.1 a live message comes
   * without its retain flag, so every topic of the tree there is offered too (but for the contract's topics that
   * are never retained): an empty retained message where nothing is retained does no harm.
   */
  private retainedUnder(branch: string): string[] {
    const topics = new Set(this.retained.topicsUnder(branch));
    if (this.info.protocol === 4) for (const t of this.topics.topicsUnder(branch)) if (deliveryFor(t)?.retain !== false) topics.add(t);
    return [...topics].sort();
  }

  /** The client, for an action that needs the broker; else the reason a person reads. */
  private connectedClient(): MqttClient {
    if (!this.client || this.info.connection !== 'connected') throw new ProblemError({ code: 'not-connected' });
    return this.client;
  }

  /** Publishes a reply on clients/{viewerId}/messages; fails with a reason a person can read. */
  private async send(text: string): Promise<void> {
    const client = this.connectedClient();
    const topic = clientMessagesTopic(this.viewerId);
    const payload = JSON.stringify({ text, ts: Date.now() });
    const checked = checkMessage(topic, new TextEncoder().encode(payload));
    if (!checked.ok) throw new ProblemError({ code: 'reply-invalid', reason: checked.reason });
    await publishTold(client, { topic, payload, qos: 1, retain: false }, this.refusals);
  }

  /** The Publish panel: any topic, with the contract's check first on a contract topic. */
  private async publish(request: PublishRequest): Promise<void> {
    const client = this.connectedClient();
    const bytes = new TextEncoder().encode(request.payload);
    const checked = checkMessage(request.topic, bytes);
    if (!checked.ok) throw new ProblemError({ code: 'contract', topic: request.topic, reason: checked.reason });
    if (checked.cleared && !request.retain) throw new ProblemError({ code: 'clear-needs-retain' });
    await publishTold(client, request, this.refusals);
    if (request.retain) this.retained.note(request.topic, bytes, request.qos, true);
  }

  /** Empty retained messages to each topic, one after the other (each acknowledged); says which were refused. */
  private async clear(topics: string[]): Promise<void> {
    const client = this.connectedClient();
    if (topics.length > MAX_CLEAR_TOPICS) throw new ProblemError({ code: 'too-many-topics', count: topics.length, max: MAX_CLEAR_TOPICS });
    const refused: string[] = [];
    let last: Problem | undefined;
    for (const topic of topics) {
      try {
        await publishTold(client, { topic, payload: '', qos: 1, retain: true }, this.refusals);
        this.retained.note(topic, new Uint8Array(0), 1, true);
      } catch (error) {
        refused.push(topic);
        last = problemOf(error);
      }
    }
    if (last) throw new ProblemError({ code: 'not-cleared', refused, total: topics.length, last });
  }

  private heardRefusal(payload: Uint8Array): void {
    const notice = this.refusals.note(payload);
    if (!notice) return;
    this.notices.push(notice);
    if (this.notices.length > NOTICES_PER_FRAME) this.notices.shift();
    this.scheduleFrame();
  }

  /** Adds a subscription (any topic filter) for the topic explorer. */
  private async subscribe(filter: string, qos: 0 | 1): Promise<void> {
    if (BASE_SUBSCRIPTIONS.includes(filter as (typeof BASE_SUBSCRIPTIONS)[number])) throw new ProblemError({ code: 'own-subscription', filter, removing: false });
    const client = this.connectedClient();
    // MQTT 5 says why (0x87 Not authorized — its reason string); a 3.1.1 SUBACK 0x80 only that it refused.
    const refused = (code: number, reasonString?: string) =>
      new ProblemError({
        code: 'subscription-refused',
        filter,
        reasonCode: client.options.protocolVersion === 5 ? code : null,
        ...(reasonString !== undefined && { reasonString }),
      });
    this.stored.subscribed(filter);
    let granted;
    try {
      granted = await client.subscribeAsync(filter, this.subscriptionOptions(qos));
    } catch (error) {
      // MQTT.js rejects a SUBACK 0x80 (0x87 …) as "Unspecified error", which names neither the filter nor who
      // refused; the SUBACK it carries says what happened, and over MQTT 5 why (its reason string).
      const suback = (error as { packet?: { granted?: (number | { qos: number })[]; properties?: { reasonString?: string } } }).packet;
      const code = (suback?.granted ?? []).map((g) => (typeof g === 'number' ? g : g.qos)).find((c) => (c & 0x80) !== 0);
      if (code !== undefined) throw refused(code, suback?.properties?.reasonString);
      throw new ProblemError({ code: 'subscribe-failed', filter, message: (error as Error).message });
    }
    const code = granted.find((g) => g.qos >= 0x80)?.qos;
    if (code !== undefined) throw refused(code);
    this.subscriptions = [...this.subscriptions.filter((s) => s.filter !== filter), { filter, qos }];
    if (!this.info.extraSubscriptions.includes(filter)) this.update({ extraSubscriptions: [...this.info.extraSubscriptions, filter] });
  }

  /** Removes a subscription the person added (the base ones stay: the device list and messages need them). */
  private async unsubscribe(filter: string): Promise<void> {
    if (BASE_SUBSCRIPTIONS.includes(filter as (typeof BASE_SUBSCRIPTIONS)[number])) throw new ProblemError({ code: 'own-subscription', filter, removing: true });
    this.subscriptions = this.subscriptions.filter((s) => s.filter !== filter);
    this.update({ extraSubscriptions: this.info.extraSubscriptions.filter((f) => f !== filter) });
    if (this.client && this.info.connection === 'connected') await this.client.unsubscribeAsync(filter);
  }

  /** Starts recording what comes from now on (with the retained state first), or stops and hands it over. */
  private record(on: boolean): void {
    if (on && !this.recorder && !this.playback) {
      const filters = [...BASE_SUBSCRIPTIONS, ...this.info.extraSubscriptions];
      this.recorder = new PageRecorder(this.url, filters, this.retained, Date.now());
    } else if (!on && this.recorder) {
      this.report({ type: 'recording', name: this.recorder.fileName(), text: this.recorder.text() });
      this.recorder = undefined;
    } else return;
    this.recordingChanged = true;
    this.scheduleFrame();
  }

  /** Leaves the broker for good and plays the recording into fresh models; rejects with the line that is wrong. */
  private async open(name: string, text: string): Promise<void> {
    let recording;
    try {
      recording = parseRecording(text);
    } catch (error) {
      throw new ProblemError({ code: 'not-a-recording', name, message: (error as Error).message });
    }
    this.record(false);
    this.client?.removeAllListeners();
    this.client?.end(true);
    this.client = undefined;
    this.playback?.stop();
    this.startModelsAgain();
    this.update({ connection: 'playback', nextTryAt: null, lastError: null });
    this.playback = new Playback(name, recording.header, recording.messages, {
      apply: (m, recordedAt) => this.receive(m.topic, m.payload, m.retain, recordedAt, m.qos),
      reset: () => this.startModelsAgain(),
      changed: () => {
        this.playbackChanged = true;
        this.scheduleFrame();
      },
    });
    this.playbackChanged = true;
  }

  private startModelsAgain(): void {
    this.devices = new DeviceRegistry();
    // The page's selected topic stays selected: its history starts again with the models.
    const selected = this.topics.selectedTopic;
    this.topics = new TopicStatsTable();
    this.topics.select(selected);
    this.log = new LogBatch();
    this.latency = new LatencyMeter();
    this.messages = [];
    this.reset = true;
    this.scheduleFrame();
  }

  /**
   * Applies one message to the models, its payload decoded once for all of them; public for tests.
   * `receivedAt`: when it was received, for latency (a recording's own time; else now). `retained`: its retain
   * flag (the tree's R); `fromStore`: whether the broker sent it from its store on subscribing (StoredMessages).
   */
  receive(topic: string, payload: Uint8Array, retained: boolean, receivedAt?: number, qos: 0 | 1 | 2 = 0, properties: PropertyLine[] = [], fromStore = retained): void {
    const now = Date.now();
    const formatted = formatPayload(payload);
    const checked = checkFormatted(topic, formatted);
    const cleared = this.isClear(payload, retained);
    this.topics.record(topic, formatted, retained, now, payload, qos, properties, cleared);
    let mouse = null;
    if (checked.topic?.kind === 'clientMessage') {
      if (checked.ok && checked.pattern === 'clients/+/messages') this.messages.push({ from: checked.topic.clientId, ...pick(checked.payload) });
    } else mouse = this.devices.apply(topic, checked, now, fromStore, cleared);
    // The log is for what happens now; stored retained messages are state from before.
    if (!fromStore) this.log.add(logEntry(topic, formatted, mouse, now));
    if (mouse && typeof mouse.payload.ts === 'number') this.latency.add(mouse.device, mouse.payload.ts, receivedAt ?? now);
    this.scheduleFrame();
  }

  /** What changed since the last frame; public for tests. */
  takeFrame(now = Date.now()): Frame {
    const frame: Frame = {
      devices: this.devices.takeChanges(now),
      topics: this.topics.takeChanges(),
      topicOverflow: this.topics.overflow,
      topicsRemoved: this.topics.takeRemoved(),
      log: this.log.take(),
      messages: this.messages,
      latency: this.latency.takeChanges(),
      refusals: this.notices,
      received: this.received,
    };
    this.messages = [];
    this.notices = [];
    this.received = 0;
    const selected = this.topics.takeSelected();
    if (selected) frame.selected = selected;
    if (this.reset) frame.reset = true;
    this.reset = false;
    if (this.recordingChanged) frame.recording = this.recorder !== undefined;
    this.recordingChanged = false;
    if (this.playbackChanged && this.playback) frame.playback = this.playback.info();
    this.playbackChanged = false;
    if (this.infoChanged) frame.connection = { ...this.info };
    this.infoChanged = false;
    return frame;
  }

  private update(change: Partial<ConnectionInfo>): void {
    this.info = { ...this.info, ...change };
    this.infoChanged = true;
    this.scheduleFrame();
  }

  /**
   * Sends what changed at most once per frame of the page: right after the page says it painted (or at the end of
   * this task, if it did and nothing was waiting), so frames follow its animation frames instead of drifting
   * against them on a timer of our own; on a timer before the page first says so, and while it paints nothing.
   */
  private scheduleFrame(): void {
    if (this.frameDue) return;
    this.frameDue = true;
    if (this.pagePaced && this.pageReady) queueMicrotask(this.sendFrame);
    else this.flushTimer = setTimeout(this.sendFrame, this.pagePaced ? UNPAINTED_FRAME_MS : FRAME_MS);
  }

  private readonly sendFrame = (): void => {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (!this.frameDue) return;
    this.frameDue = false;
    this.pageReady = false;
    this.report({ type: 'frame', frame: this.takeFrame() });
  };

  private answer(id: number, outcome: Promise<void>): void {
    outcome.then(
      () => this.report({ type: 'done', id, error: null }),
      (error: unknown) => this.report({ type: 'done', id, error: problemOf(error) }),
    );
  }
}

/** Only the contract's fields of a client message: a payload may carry more, which the page never needs. */
function pick(m: ClientMessage): { text: string; ts: number } {
  return { text: m.text, ts: m.ts };
}

import { printable } from '../protocol/printable';
import { hostname } from 'node:os';
import {
  checkMessage,
  mouseTopic,
  SCHEMA_VERSION,
  TOPIC_PATTERNS,
  type DeviceMeta,
  type MouseEventKind,
  type PayloadFor,
} from '../protocol';
import type { DeviceClient } from '../protocol/device-client';
import { MoveCoalescer } from './move-coalescer';
import { reportConnection } from './connection-report';
import { createSay, type Say } from './output';
import type { MouseInput, MouseSource } from './sources/source';
import pkg from '../package.json' with { type: 'json' };

type EventTopic<K extends MouseEventKind> = `devices/${string}/mouse/${K}`;
type Move = Omit<PayloadFor<EventTopic<'move'>>, 'seq'>;

export interface PublisherOptions {
  /** The broker's address as the person gave it: only for the lines the publisher prints. */
  url: string;
  source: MouseSource;
  moveHz: number;
  /** Where the publisher says what it does (one line per call, with its event for --log-format json). */
  say?: Say;
  /** How often the move rate is summarised (ms). */
  summaryEveryMs?: number;
  /** Called after the line of a connection problem retrying cannot fix (a port that speaks something else). */
  onGiveUp?: () => void;
}

/**
 * Carries a capture source's events to the broker on the contract topics: clicks and scrolls at QoS 1
 * (queued across reconnects), moves at QoS 0 coalesced to `moveHz`, presence and meta retained.
 * `seq` is one counter for all event topics of this run, over the events it publishes: while the broker is away
 * moves are not sent and take no `seq` (only the latest is kept, numbered and sent at reconnect unless a click or
 * scroll came after it), so a gap in `seq` at a consumer is a loss on the way, never a move left out on purpose.
 * The summary says how many moves were not sent.
 *
 * It takes its client, already connecting, so a test can hand it one for an in-process broker. The client's
 * meta comes from this publisher:
 *
 *   const publisher = new MousePublisher(connectDevice({ url, device, meta: () => publisher.meta() }), { url, source, moveHz });
 */
export class MousePublisher {
  readonly startedAt = Date.now();
  private seq = 0;
  private readonly moves: MoveCoalescer<Extract<MouseInput, { type: 'move' }>>;
  /** Moves published (handed to a connected client), and those not sent because the broker was away. */
  private movesPublished = 0;
  private movesNotSent = 0;
  /** The latest move while the broker is away, not numbered yet: sent at reconnect unless an event came after it. */
  private heldMove: Move | undefined;
  private summaryTimer: ReturnType<typeof setInterval> | undefined;
  private readonly say: Say;
  private lastPosition = { x: 0, y: 0 };
  /** Demo clicks since the last summary. */
  private demoClicks = 0;
  /** Reported in meta, so a viewer sees when the capture is down and why. */
  private capture: { running: boolean; problem: string | null } = { running: true, problem: null };

  constructor(
    readonly deviceClient: DeviceClient,
    private readonly options: PublisherOptions,
  ) {
    this.say = options.say ?? createSay('auto');
    this.moves = new MoveCoalescer(options.moveHz, (m) => this.publishMove({ x: m.x, y: m.y, ts: m.ts }));
    const client = deviceClient.client;
    client.on('connect', () => {
      client.subscribe(TOPIC_PATTERNS.clientMessages, { qos: 1 });
      // Queued behind what waited (the DeviceClient announces, then sends its queue): the position now.
      const held = this.heldMove;
      this.heldMove = undefined;
      if (held) {
        this.movesNotSent -= 1;
        this.movesPublished += 1;
        this.publishEvent('move', held);
      }
    });
    reportConnection(client, {
      url: options.url,
      device: this.deviceId,
      username: client.options.username,
      say: this.say,
      connected: () => `Connected to ${options.url} as device "${this.deviceId}" (source: ${options.source.kind})`,
      connectedFields: { source: options.source.kind },
      waiting: 'clicks and scrolls wait in a queue until it is back',
      onGiveUp: () => options.onGiveUp?.(),
    });
    client.on('message', (topic, payload) => {
      const checked = checkMessage(topic, payload);
      if (checked.ok && checked.pattern === 'clients/+/messages') {
        const { text } = checked.payload;
        // Text from the wire, on a terminal: escaped, so a viewer cannot send terminal codes or a line of its own.
        this.say(`From client ${checked.topic.clientId}: ${printable(text)}`, { event: 'client_message', from: checked.topic.clientId, text });
      }
    });
  }

  /** The device id: the `{device}` of every topic this publisher sends on. */
  get deviceId(): string {
    return this.deviceClient.device;
  }

  meta(): DeviceMeta & { capture: { running: boolean; problem: string | null }; screenFrom?: string } {
    const { screenFrom } = this.options.source;
    return {
      capture: this.capture,
      ...(screenFrom !== undefined && { screenFrom }),
      name: this.deviceId,
      kind: 'mouse',
      source: this.options.source.kind,
      screen: this.options.source.screen,
      host: hostname(),
      version: pkg.version,
      schema: SCHEMA_VERSION,
      startedAt: this.startedAt,
    };
  }

  async start(): Promise<void> {
    await this.options.source.start({
      onInput: (input) => this.onInput(input),
      onCaptureState: (running, message) => {
        this.say(message, running ? { event: 'capture_running', source: this.options.source.kind } : { event: 'capture_stopped', source: this.options.source.kind, problem: message });
        this.capture = { running, problem: running ? null : message };
        // Offline, updateMeta sends nothing (the next connect announces the meta), so a failure here is worth a line.
        void this.deviceClient
          .updateMeta()
          .catch((error: Error) => this.say(`Could not publish the capture state in meta now: ${error.message}`, { event: 'publish_failed', kind: 'meta', error: error.message }));
      },
    });
    const { screen } = this.options.source;
    this.say(`Capturing the mouse (${this.options.source.kind}${screen ? `, screen ${screen.width}x${screen.height}` : ''}); the keyboard is never captured`, {
      event: 'capturing',
      source: this.options.source.kind,
      screen,
    });
    const every = this.options.summaryEveryMs ?? 10_000;
    let lastReceived = 0;
    let lastSent = 0;
    let lastNotSent = 0;
    let lastDropped = 0;
    this.summaryTimer = setInterval(() => {
      const received = this.moves.received - lastReceived;
      const sent = this.movesPublished - lastSent;
      const notSent = this.movesNotSent - lastNotSent;
      const { dropped } = this.deviceClient.queue;
      const demoClicks = this.demoClicks;
      const clicks = demoClicks > 0 ? `; ${demoClicks} demo click${demoClicks === 1 ? '' : 's'}` : '';
      this.demoClicks = 0;
      if (received > 0) {
        const [captured, published] = [rate(received, every), rate(sent, every)];
        // Said apart from loss on the way: a consumer sees no gap in `seq` for these.
        const away = notSent > 0 ? `; ${notSent} not sent while the broker was away (moves are not queued; clicks and scrolls are)` : '';
        this.say(`Moves: ${captured}/s captured, ${published}/s published${away}${clicks}; pointer at (${this.lastPosition.x}, ${this.lastPosition.y})`, {
          event: 'summary',
          movesCapturedPerSecond: Number(captured),
          movesPublishedPerSecond: Number(published),
          movesNotSent: notSent,
          demoClicks,
          pointer: { ...this.lastPosition },
        });
      }
      if (dropped > lastDropped) this.say(`Offline queue full: ${dropped} clicks/scrolls dropped so far (oldest first)`, { event: 'queue_full', dropped });
      [lastReceived, lastSent, lastNotSent, lastDropped] = [this.moves.received, this.movesPublished, this.movesNotSent, dropped];
    }, every);
    this.summaryTimer.unref();
  }

  /** Publishes `offline`, stops the capture and disconnects. */
  /** Stops capturing, then sends what is queued and `offline` (waiting up to `closeTimeoutMs` for a connection). */
  async stop(closeTimeoutMs?: number): Promise<void> {
    clearInterval(this.summaryTimer);
    await this.options.source.stop();
    this.moves.flush();
    await this.deviceClient.close(closeTimeoutMs);
  }

  private onInput(input: MouseInput): void {
    this.lastPosition = { x: input.x, y: input.y };
    switch (input.type) {
      case 'move':
        return this.moves.push(input);
      case 'button': {
        this.moves.flush();
        const { x, y, button, pressed, ts } = input;
        // One line per click, at the press; the demo's synthetic clicks are counted in the summary instead,
        // so they do not scroll `make up`'s banner away.
        if (pressed) {
          if (this.options.source.kind === 'demo') this.demoClicks += 1;
          else this.say(`Pressed ${button} at (${x}, ${y})`, { event: 'click', button, x, y });
        }
        return this.publishEvent('click', { x, y, button, pressed, ts });
      }
      case 'wheel': {
        this.moves.flush();
        const { x, y, dx, dy, ts } = input;
        return this.publishEvent('scroll', { x, y, dx, dy, ts });
      }
    }
  }

  /** A move goes out now, or, while the broker is away, is held unnumbered in place of the one held before. */
  private publishMove(move: Move): void {
    if (this.deviceClient.online) {
      this.movesPublished += 1;
      return this.publishEvent('move', move);
    }
    this.movesNotSent += 1;
    this.heldMove = move;
  }

  private publishEvent<K extends MouseEventKind>(kind: K, event: Omit<PayloadFor<EventTopic<K>>, 'seq'>): void {
    // A click or scroll carries the position: the move held before it is left out, so `seq` keeps the order.
    if (kind !== 'move') this.heldMove = undefined;
    const topic = mouseTopic(this.deviceId, kind) as EventTopic<K>;
    const payload = { ...event, seq: this.seq++ } as PayloadFor<EventTopic<K>>;
    this.deviceClient
      .publish(topic, payload)
      .catch((error: Error) => this.say(`Could not publish a ${kind}: ${error.message}`, { event: 'publish_failed', kind, error: error.message }));
  }
}

function rate(count: number, everyMs: number): string {
  return (count / (everyMs / 1000)).toFixed(count < everyMs / 1000 ? 1 : 0);
}

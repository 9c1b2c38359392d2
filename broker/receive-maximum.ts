import type { Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { ClientConnection } from './client-connection';
import { requireInternal } from './library-internals';
import { firstTime } from './duplicate-deliveries';
import { later } from './qos0-delivery';
import type { Limits } from './security/limits';

/**
 * MQTT 5 Receive Maximum, outbound (MQTT-3.3.4-9): an MQTT 5 client says in its CONNECT how many QoS 1 and 2
 * PUBLISHes it takes unacknowledged; the broker sends no more until a PUBACK, a PUBCOMP or a PUBREC with an
 * error reason code (>= 0x80) frees a slot. Aedes 2.0.0-beta.1 stores the number (`client.receiveMaximum`) and
 * does not enforce it.
 *
 * Here an MQTT 5 client's QoS 1 and 2 deliveries (Aedes's `deliverQoS`) are taken over: Aedes's checks (no local,
 * a duplicate as duplicate-deliveries.ts tells it, `authorizeForward`), then the message is sent if the window has
 * room, else queued for this client; mqemitter's callback is called at once either way, so a client that does not
 * acknowledge never holds up delivery to anyone else. The queue is bounded like a persistent session (--max-queued-messages,
 * --max-queued-bytes of payload): a client past either is cut off as a slow reader. At disconnect the queue goes
 * with the connection: a persistent session has each message in its persistence already (queued before delivery)
 * and gets it at reconnect; a clean session loses it, as it loses everything else then.
 *
 * Only MQTT 5 clients get this, decided once from the CONNECT: MQTT 3.1.1 and 3.1 clients, and every QoS 0
 * delivery, stay on their own paths with no added work. Not covered: the messages Aedes resends itself when a
 * persistent session reconnects (connect.js `emptyQueue` writes them all at once).
 */

/** The parts of Aedes's Client this relies on (not in its public types); checked at install. */
interface AedesClientInternals {
  id: string;
  version: number | null;
  clean: boolean;
  connected: boolean;
  connecting: boolean;
  receiveMaximum?: number;
  duplicates: Record<string, number>;
  subscriptions: Record<string, { qos?: number } | undefined>;
  _nextId: number;
  _parser: { prependOnceListener(event: 'packet', listener: (packet: mqttPacket.Packet) => void): void; on(event: 'packet', listener: (packet: mqttPacket.Packet) => void): void };
  deliverQoS: (packet: Delivered, callback: () => void) => void;
  deliver0: (packet: Delivered, callback: () => void) => void;
  emit(event: 'error', error: Error): void;
  broker: {
    authorizeForward: (client: Client, packet: Delivered) => Delivered | null | undefined;
    persistence: {
      outgoingUpdate(client: Client, packet: Delivered): Promise<unknown>;
      outgoingClearMessageId(client: Client, packet: Delivered): Promise<unknown>;
    };
  };
}

interface Delivered {
  cmd?: string;
  topic: string;
  payload?: Buffer | string;
  qos: 0 | 1 | 2;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  brokerId?: string;
  brokerCounter?: number;
  clientId?: string;
  nl?: boolean;
  properties?: mqttPacket.IPublishPacket['properties'];
  /** When the message expires (ms since the epoch), if it has a Message Expiry Interval. */
  messageExpiry?: number;
}

/** MQTT 5's default when the CONNECT names none (§3.1.2.11.3). */
const RECEIVE_MAXIMUM_DEFAULT = 65_535;
/** A PUBREC reason code from 0x80 up ends the QoS 2 exchange (§4.3.3). */
const PUBREC_ERROR = 0x80;

/**
 * Watches the client's first packet (its CONNECT): for MQTT 5, puts the window in place before any subscription
 * (live, or restored from a persistent session) takes Aedes's `deliverQoS`. Call it as the client is made.
 */
export function installReceiveMaximum(client: Client, conn: ClientConnection, limits: Pick<Limits, 'maxQueuedMessages' | 'maxQueuedBytes'>): void {
  const c = client as unknown as AedesClientInternals;
  requireInternal(
    typeof c.deliverQoS === 'function' && typeof c._parser?.prependOnceListener === 'function' && typeof c.duplicates === 'object' && typeof c.broker?.authorizeForward === 'function',
    'aedes',
    'Client#deliverQoS, #_parser, #duplicates and Aedes#authorizeForward (to keep to MQTT 5 Receive Maximum)',
  );
  c._parser.prependOnceListener('packet', (packet) => {
    if (packet.cmd === 'connect' && packet.protocolVersion === 5) new ReceiveWindow(c, conn, limits);
  });
}

class ReceiveWindow {
  /** Packet ids sent and not yet acknowledged. */
  private readonly inFlight = new Set<number>();
  private readonly waiting: Delivered[] = [];
  private waitingBytes = 0;
  private scheduled = false;
  private readonly aedesDeliverQoS: AedesClientInternals['deliverQoS'];

  constructor(
    private readonly c: AedesClientInternals,
    private readonly conn: ClientConnection,
    private readonly limits: Pick<Limits, 'maxQueuedMessages' | 'maxQueuedBytes'>,
  ) {
    this.aedesDeliverQoS = c.deliverQoS;
    c.deliverQoS = (packet, callback) => this.deliver(packet, callback);
    // After Aedes's own listener: Aedes handles the acknowledgement as ever; this only frees the slot.
    c._parser.on('packet', (packet) => this.acknowledged(packet));
  }

  private get maximum(): number {
    return this.c.receiveMaximum ?? RECEIVE_MAXIMUM_DEFAULT;
  }

  private deliver(packet: Delivered, callback: () => void): void {
    const c = this.c;
    // Sent at QoS 0 (the publish's own QoS): Aedes's QoS 0 path, outside the window.
    if (packet.qos === 0) return this.aedesDeliverQoS(packet, callback);
    const toForward = this.toForward(packet);
    if (!toForward) {
      // As Aedes: a persistent session queued it before delivery; not sent, it is cleared.
      if (!c.clean) c.broker.persistence.outgoingClearMessageId(c as unknown as Client, packet).catch(() => undefined);
      return later(callback);
    }
    later(callback);
    this.waiting.push(toForward);
    this.waitingBytes += payloadBytes(toForward);
    // Over the caps only counting what the window has no room for (the bytes: all waiting, an upper bound).
    const free = this.maximum - this.inFlight.size;
    const { maxQueuedMessages, maxQueuedBytes } = this.limits;
    const behind = this.waiting.length - free;
    if (behind > 0 && (behind > maxQueuedMessages || this.waitingBytes > maxQueuedBytes)) {
      const [what, flag] = behind > maxQueuedMessages ? [`${behind} messages`, '--max-queued-messages'] : [`${this.waitingBytes} bytes`, '--max-queued-bytes'];
      this.waiting.length = 0;
      this.waitingBytes = 0;
      return this.conn.cutOff(`${what} waiting for it to acknowledge earlier ones (Receive Maximum ${this.maximum}, limit ${flag})`, 'slow');
    }
    this.sendSoon();
  }

  /** Sends what the window has room for in a later turn, as Aedes writes a delivery (after whatever this turn wrote before). */
  private sendSoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.sendWaiting();
    });
  }

  /** Aedes's checks before a delivery (lib/client.js getToForwardPacket): no local, seen before, mqlive's rights. */
  private toForward(packet: Delivered): Delivered | null | undefined {
    const c = this.c;
    if (packet.clientId === c.id && packet.nl) return null;
    if (!firstTime(c, packet)) return null;
    return c.broker.authorizeForward(c as unknown as Client, packet);
  }

  private acknowledged(packet: mqttPacket.Packet): void {
    const cmd = packet.cmd;
    if (cmd !== 'puback' && cmd !== 'pubcomp' && !(cmd === 'pubrec' && (packet.reasonCode ?? 0) >= PUBREC_ERROR)) return;
    if (packet.messageId === undefined || !this.inFlight.delete(packet.messageId)) return;
    if (this.waiting.length > 0) this.sendSoon();
  }

  private sendWaiting(): void {
    while (this.waiting.length > 0 && this.inFlight.size < this.maximum) {
      const next = this.waiting.shift()!;
      this.waitingBytes -= payloadBytes(next);
      this.send(next);
    }
  }

  /** Aedes's QoSPacket and writeQoS: a packet id of the client's sequence, saved for a persistent session, then written. */
  private send(toForward: Delivered): void {
    const c = this.c;
    if (!c.connected && !c.connecting) return; // gone: a persistent session has it in its persistence still
    const packet: Delivered = { ...toForward, cmd: 'publish', messageId: toForward.messageId ?? nextId(c) };
    // At most at the QoS of the client's subscription to exactly this topic, as Aedes does.
    const granted = c.subscriptions[packet.topic]?.qos ?? 2;
    if (granted < packet.qos) packet.qos = granted as 0 | 1;
    if (packet.messageExpiry !== undefined) {
      const left = packet.messageExpiry - Date.now();
      if (left <= 0) {
        // Expired while waiting for a slot (MQTT-3.3.2-5).
        if (!c.clean && !packet.retain) c.broker.persistence.outgoingClearMessageId(c as unknown as Client, toForward).catch(() => undefined);
        return;
      }
      packet.properties = { ...packet.properties, messageExpiryInterval: Math.ceil(left / 1000) };
    }
    if (packet.qos === 0) return this.write(packet);
    this.inFlight.add(packet.messageId!);
    if (c.clean || packet.retain) return this.write(packet);
    c.broker.persistence.outgoingUpdate(c as unknown as Client, packet).then(
      () => this.write(packet),
      (error: unknown) => c.emit('error', error instanceof Error ? error : new Error(String(error))),
    );
  }

  private write(packet: Delivered): void {
    if (!this.c.connected && !this.c.connecting) return;
    let bytes: Buffer;
    try {
      bytes = mqttPacket.generate(packet as mqttPacket.IPublishPacket, { protocolVersion: 5 });
    } catch (error) {
      // As Aedes: a PUBLISH that cannot be encoded ends the client.
      return void this.c.emit('error', new Error('packet received not valid', { cause: error }));
    }
    this.conn.writePacket(bytes);
  }
}

/** The next id of the client's sequence, as Aedes's QoSPacket takes it (1 to 65535, then round again). */
function nextId(c: AedesClientInternals): number {
  const id = c._nextId;
  c._nextId = id >= 65_535 ? 1 : id + 1;
  return id;
}

const payloadBytes = (packet: Delivered) => (typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : (packet.payload?.length ?? 0));

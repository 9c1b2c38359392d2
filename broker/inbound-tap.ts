import type { Client } from 'aedes';
import { requireInternal } from './library-internals';

export interface InboundPacket {
  cmd: string;
  subscriptions?: { topic: string; rh?: number }[];
  unsubscriptions?: string[];
}

type Reader = (this: unknown, packet: InboundPacket) => void;

interface ParserWithListeners {
  listeners(event: 'packet'): Reader[];
  removeAllListeners(event: 'packet'): void;
  on(event: 'packet', listener: Reader): void;
}

/**
 * Puts `tap` between a client's parser and Aedes: each packet the client sends goes to `tap`, which hands it on with
 * `pass` (now, later, changed, or not at all). Call it as the client is made, before it sends anything.
 */
export function tapInbound(client: Client, tap: (packet: InboundPacket, pass: (packet: InboundPacket) => void) => void): void {
  const parser = (client as unknown as { _parser?: ParserWithListeners })._parser;
  requireInternal(typeof parser?.listeners === 'function', 'aedes', "Client#_parser's packet listeners");
  if (!parser) return;
  const readers = parser.listeners('packet');
  parser.removeAllListeners('packet');
  const pass = (packet: InboundPacket) => {
    for (const read of readers) read.call(parser, packet);
  };
  parser.on('packet', (packet) => tap(packet, pass));
}

/**
 * Packets a client may send behind a SUBSCRIBE or UNSUBSCRIBE not answered yet: a real client sends a few, since the
 * answer takes a moment. Beyond, the connection is closed rather than held packets pile up.
 */
export const MAX_HELD_PACKETS = 1000;

/** What of Aedes's Client ends it (Aedes closes a client on its 'error'). */
interface Closable {
  emit(event: 'error', error: Error): void;
}

interface Held {
  packets: InboundPacket[];
}

/**
 * A client's packets take effect in the order it sent them, across a SUBSCRIBE or UNSUBSCRIBE: Aedes handles the
 * packets of one read side by side, so a PUBLISH sent right after a SUBSCRIBE could be delivered before the
 * subscription was in place and miss it (Mosquitto keeps the order). Here what follows a SUBSCRIBE or UNSUBSCRIBE
 * waits until Aedes says it is done ('subscribe', 'unsubscribe'); publishes between them still go side by side.
 */
export class SubscriptionOrder {
  /** Each attached client's order: looked up when Aedes says a subscription change is done, not per packet. */
  private readonly orders = new WeakMap<Client, ClientOrder>();

  install(aedes: { on(event: 'subscribe' | 'unsubscribe', listener: (what: unknown, client: Client) => void): unknown }): void {
    aedes.on('subscribe', (_, client) => this.orders.get(client)?.release());
    aedes.on('unsubscribe', (_, client) => this.orders.get(client)?.release());
  }

  /** Puts the order in front of Aedes for one client: call it as the client is made. */
  attach(client: Client): void {
    const order = new ClientOrder(client as unknown as Closable);
    this.orders.set(client, order);
    tapInbound(client, (packet, pass) => order.take(packet, pass));
  }
}

class ClientOrder {
  private held: Held | null = null;
  private pass: ((packet: InboundPacket) => void) | null = null;

  constructor(private readonly client: Closable) {}

  take(packet: InboundPacket, pass: (packet: InboundPacket) => void): void {
    this.pass = pass;
    const held = this.held;
    if (held) {
      if (held.packets.push(packet) > MAX_HELD_PACKETS) {
        this.held = { packets: [] }; // what was held is dropped with the connection
        this.client.emit('error', new Error(`more than ${MAX_HELD_PACKETS} packets sent before a SUBSCRIBE or UNSUBSCRIBE was answered`));
      }
      return;
    }
    // One with no filter is a protocol error Aedes answers without saying it is done: nothing waits for it.
    if (isSubscriptionChange(packet)) this.held = { packets: [] };
    pass(packet);
  }

  /** The subscription change is in place: what waited goes on, up to the next SUBSCRIBE or UNSUBSCRIBE among it. */
  release(): void {
    const held = this.held;
    const pass = this.pass;
    if (!held || !pass) return;
    this.held = null;
    for (let i = 0; i < held.packets.length; i++) {
      if (this.held) {
        (this.held as Held).packets.push(...held.packets.slice(i));
        break;
      }
      this.take(held.packets[i]!, pass);
    }
  }
}

function isSubscriptionChange(packet: InboundPacket): boolean {
  if (packet.cmd === 'subscribe') return (packet.subscriptions?.length ?? 0) > 0;
  return packet.cmd === 'unsubscribe' && (packet.unsubscriptions?.length ?? 0) > 0;
}

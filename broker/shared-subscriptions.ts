import type { Aedes, Client } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { topicMatches } from '../protocol/topic-filter';
import { clientHolding } from './client-info';
import { tapInbound, type InboundPacket } from './inbound-tap';
import { requireInternal } from './library-internals';

const SHARE = '$share/';

interface ClientState {
  id: string;
  version?: number | null;
  subscriptions: Record<string, unknown>;
}

/** `$share/{group}/{filter}` split, or null when it is not a well-formed shared subscription (Aedes then refuses it, 0x9E). */
export function parseShared(topic: string): { group: string; filter: string } | null {
  if (!topic.startsWith(SHARE)) return null;
  const slash = topic.indexOf('/', SHARE.length);
  if (slash < 0) return null;
  const group = topic.slice(SHARE.length, slash);
  const filter = topic.slice(slash + 1);
  if (group === '' || /[+#]/.test(group) || filter === '') return null;
  return { group, filter };
}

/**
 * MQTT 5 shared subscriptions (`$share/{group}/{filter}`, MQTT 5 §4.8.2) on Aedes's beta, which refuses them: each
 * message that matches a group's filter goes to one of the group's connected members, in turn.
 *
 * A member's SUBSCRIBE is rewritten before Aedes reads it: `$share/g/f` becomes `f` with retain handling 2 (a shared
 * subscription gets no retained messages, MQTT-3.8.4-… §4.8.2), so Aedes checks and grants it as `f` through mqlive's
 * rules (rights, caps: on the inner filter). The group is kept here; at each delivery `mayDeliver` lets the message
 * through to the member whose turn it is (by the message's broker counter, the same for every member) and to no
 * other, unless that client has a plain subscription of its own that matches too. A client's own plain and shared
 * subscription to one filter are one subscription, the last one made.
 *
 * Per instance: with `--redis`, each instance gives a message to one member among its own clients.
 */
export class SharedSubscriptions {
  /** Client id → its shared filters → their group. */
  private readonly byClient = new Map<string, Map<string, string>>();
  /** Group and filter → the connected clients that share it, in the order they joined. */
  private readonly members = new Map<string, Set<Client>>();
  /** Rewritten in a SUBSCRIBE, waiting for Aedes to grant them. */
  private readonly pending = new WeakMap<Client, Map<string, string>>();

  private aedes?: Aedes;

  /** Installs it on a broker: call once, right after creating it. */
  install(aedes: Aedes): void {
    this.aedes = aedes;
    advertiseSharedSubscriptions();
    aedes.on('subscribe', (subscriptions, client) => {
      const pending = this.pending.get(client);
      for (const s of subscriptions) {
        if ((s.qos as number) >= 0x80) continue;
        const group = pending?.get(s.topic);
        if (group !== undefined) this.join(client, s.topic, group);
        else this.leave(client, s.topic);
      }
      this.pending.delete(client);
    });
    aedes.on('unsubscribe', (filters, client) => {
      for (const filter of filters) this.leave(client, filter);
    });
    // A resumed session keeps its shared subscriptions; a clean one starts without.
    aedes.on('client', (client) => {
      const mine = this.byClient.get(client.id);
      if (!mine) return;
      const state = client as unknown as ClientState;
      for (const [filter, group] of [...mine]) {
        if (state.subscriptions[filter]) this.join(client, filter, group);
        else this.leave(client, filter);
      }
    });
    aedes.on('clientDisconnect', (client) => this.offline(client));
    // A session that expired while offline takes its groups with it, unless its id is back already.
    aedes.on('sessionExpired' as 'client', (client) => {
      if (clientHolding(aedes, client.id) === undefined) this.byClient.delete(client.id);
    });
  }

  /** Puts the rewriting in front of Aedes's own reading of this client's packets: call it as the client is made. */
  attach(client: Client): void {
    tapInbound(client, (packet, pass) => {
      if (packet.cmd === 'subscribe' || packet.cmd === 'unsubscribe') this.rewrite(client, packet);
      pass(packet);
    });
  }

  /** Whether a message may go to this client: always, unless it reaches it only through shared subscriptions and it is another member's turn. */
  mayDeliver(client: Client, packet: { topic: string; brokerCounter?: number }): boolean {
    if (this.byClient.size === 0) return true;
    const mine = this.byClient.get(client.id);
    if (!mine) return true;
    let shared = false;
    for (const [filter, group] of mine) {
      if (!topicMatches(filter, packet.topic)) continue;
      shared = true;
      if (this.turnOf(group, filter, packet.brokerCounter ?? 0) === client) return true;
    }
    if (!shared) return true;
    // A plain subscription of its own that matches as well.
    for (const filter in (client as unknown as ClientState).subscriptions) {
      if (!mine.has(filter) && topicMatches(filter, packet.topic)) return true;
    }
    return false;
  }

  private rewrite(client: Client, packet: InboundPacket): void {
    if ((client as unknown as ClientState).version !== 5) return;
    if (packet.cmd === 'subscribe') {
      for (const sub of packet.subscriptions ?? []) {
        const shared = parseShared(sub.topic);
        if (!shared) continue;
        let pending = this.pending.get(client);
        if (!pending) this.pending.set(client, (pending = new Map()));
        pending.set(shared.filter, shared.group);
        sub.topic = shared.filter;
        sub.rh = 2;
      }
    } else {
      packet.unsubscriptions = (packet.unsubscriptions ?? []).map((topic) => parseShared(topic)?.filter ?? topic);
    }
  }

  private join(client: Client, filter: string, group: string): void {
    const previous = this.byClient.get(client.id)?.get(filter);
    if (previous !== undefined && previous !== group) this.leave(client, filter);
    let mine = this.byClient.get(client.id);
    if (!mine) this.byClient.set(client.id, (mine = new Map()));
    mine.set(filter, group);
    const k = key(group, filter);
    const members = this.members.get(k);
    if (members) members.add(client);
    else this.members.set(k, new Set([client]));
  }

  private leave(client: Client, filter: string): void {
    const mine = this.byClient.get(client.id);
    const group = mine?.get(filter);
    if (group === undefined || !mine) return;
    mine.delete(filter);
    if (mine.size === 0) this.byClient.delete(client.id);
    this.removeMember(client, key(group, filter));
  }

  /** Gone from every group while offline; a persistent session's groups are kept for its return. */
  private offline(client: Client): void {
    const mine = this.byClient.get(client.id);
    if (!mine) return;
    for (const [filter, group] of mine) this.removeMember(client, key(group, filter));
    // A clean session's groups end with it, unless the id is already another connection's (a takeover).
    const current = this.aedes && clientHolding(this.aedes, client.id);
    const clean = (client as unknown as { clean?: boolean }).clean !== false;
    if (clean && (current === undefined || current === client)) this.byClient.delete(client.id);
  }

  private removeMember(client: Client, k: string): void {
    const members = this.members.get(k);
    if (!members) return;
    members.delete(client);
    if (members.size === 0) this.members.delete(k);
  }

  private turnOf(group: string, filter: string, counter: number): Client | undefined {
    const members = this.members.get(key(group, filter));
    if (!members || members.size === 0) return undefined;
    let turn = counter % members.size;
    for (const member of members) if (turn-- === 0) return member;
    return undefined;
  }
}

function key(group: string, filter: string): string {
  return `${group}\u0000${filter}`;
}

let advertised = false;

/**
 * Aedes's beta says Shared Subscription Available 0 in every MQTT 5 CONNACK (lib/handlers/connect.js); mqlive has
 * them, so its CONNACKs say 1. Every packet Aedes writes goes through mqtt-packet's writeToStream: one check of
 * `cmd` each.
 */
function advertiseSharedSubscriptions(): void {
  if (advertised) return;
  const packets = mqttPacket as unknown as { writeToStream: (packet: { cmd: string; properties?: { sharedSubscriptionAvailable?: boolean } }, ...rest: unknown[]) => boolean };
  requireInternal(typeof packets.writeToStream === 'function', 'mqtt-packet', 'writeToStream');
  const writeToStream = packets.writeToStream;
  const wrapped = (packet: Parameters<typeof writeToStream>[0], ...rest: unknown[]) => {
    if (packet.cmd === 'connack' && packet.properties?.sharedSubscriptionAvailable === false) packet.properties.sharedSubscriptionAvailable = true;
    return writeToStream(packet, ...rest);
  };
  // mqtt-packet reads its settings (cacheNumbers, which packet-memory.ts turns off) from its own function: the
  // wrapper's are that function's.
  const settings = writeToStream as unknown as { cacheNumbers: boolean };
  Object.defineProperty(wrapped, 'cacheNumbers', { get: () => settings.cacheNumbers, set: (value: boolean) => (settings.cacheNumbers = value) });
  packets.writeToStream = wrapped;
  advertised = true;
}

/**
 * Aedes's persistence, kept on disk: the Aedes team's in-memory persistence (aedes-persistence) serves every
 * read from memory, and each change it makes is also written to the store folder (store-folder.ts) through one
 * write group (write-group.ts). A method that changes what is kept resolves only once the change is on disk, and
 * Aedes sends a PUBACK, PUBREC or SUBACK only after that method resolves: what the broker acknowledged survives a
 * crash. QoS 0 messages that are not retained never reach a method that writes.
 *
 * The queue of messages owed to each persistent session is kept here rather than in the in-memory persistence,
 * so that each message has its own record (its store sequence number) to update or delete.
 */
import AsyncMemory from 'aedes-persistence/asyncPersistence.js';
import { Readable } from 'node:stream';
import { checkPacket, decode, DamagedRecordError, encode, encodePacket, keyParts, keys, KIND, type StoredPacket } from './records';
import type { WriteGroup } from './write-group';

const Packet = AsyncMemory.Packet;

interface ClientRef {
  id: string;
}
interface Subscription {
  topic: string;
  qos: number;
  rh?: number;
  rap?: number;
  nl?: number;
  subscriptionIdentifier?: number;
}
/** What Aedes hands the persistence: a PUBLISH on its way (brokerId and brokerCounter name it), or a PUBREL. */
type OutgoingPacket = StoredPacket & { brokerId?: string; brokerCounter?: number; messageId?: number };

/** One message owed to a session: its record's sequence number, and the packet as kept. */
interface Owed {
  seq: number;
  packet: OutgoingPacket;
}

/** A persistent session as the store remembers it beyond its subscriptions and messages (store/sessions.ts). */
export type SessionRecord = object;

export class DurablePersistence extends AsyncMemory {
  /** The last sequence number given to a queued message. */
  private seq = 0;
  private readonly owed = new Map<string, Owed[]>();
  /** Wills found at start: their clients were connected when the broker last stopped, and are not any more. */
  readonly willsFromBefore: StoredPacket[] = [];
  /** Session records found at start, by client id. */
  readonly sessionsFromBefore = new Map<string, SessionRecord>();
  private readonly retainedBytes = new Map<string, number>();
  /** Client ids that have a session record on disk. */
  private readonly sessionIds = new Set<string>();
  /**
   * The user a client logged in as (null: anonymous), kept with its will: a will found at start is published only
   * if that user may still publish it under the rights of the broker that finds it (store/sessions.ts).
   */
  usernameOf: (client: ClientRef) => string | null = () => null;

  constructor(readonly group: WriteGroup) {
    super();
  }

  /** Fills memory from the store's records (before Aedes starts). A record that does not read back throws. */
  async load(batches: AsyncIterable<Array<[string, Buffer]>>): Promise<void> {
    const subscriptions = new Map<string, Subscription[]>();
    for await (const batch of batches) for (const [key, bytes] of batch) {
      const value = decode(key, bytes);
      const [first = '', second = ''] = keyParts(key);
      switch (key[0]) {
        case KIND.retained: {
          const packet = checkPacket(key, value);
          await super.storeRetained(packet);
          this.retainedBytes.set(packet.topic, packet.payload.length);
          break;
        }
        case KIND.subscription: {
          if (typeof value.qos !== 'number') throw new DamagedRecordError(`a subscription without a QoS (${first} ${second})`);
          const list = subscriptions.get(first) ?? [];
          list.push({ ...value, topic: second } as Subscription);
          subscriptions.set(first, list);
          break;
        }
        case KIND.outgoing: {
          const seq = parseInt(second, 16);
          this.seq = Math.max(this.seq, seq);
          this.queueOf(first).push({ seq, packet: checkPacket(key, value) });
          break;
        }
        case KIND.incoming:
          await super.incomingStorePacket({ id: first }, checkPacket(key, value));
          break;
        case KIND.will:
          this.willsFromBefore.push(checkPacket(key, value));
          break;
        case KIND.session:
          this.sessionsFromBefore.set(first, value);
          this.sessionIds.add(first);
          break;
        default:
          throw new DamagedRecordError(`a record of no known kind (${JSON.stringify(key.slice(0, 40))})`);
      }
    }
    for (const [id, subs] of subscriptions) await super.addSubscriptions({ id }, subs);
    this.subscribedFromBefore = [...subscriptions.keys()];
  }

  /** Client ids whose subscriptions were found at start. */
  private subscribedFromBefore: string[] = [];

  /**
   * Brings each session found at start within `max` subscriptions (the cap may have been lowered since they were
   * kept): the first `max` in the store's order (by filter) stay, the others are removed, from disk too. Without
   * this, messages were queued through them while their client was away. Returns the removed filters by client id.
   */
  async trimSubscriptions(max: number): Promise<Map<string, string[]>> {
    const removed = new Map<string, string[]>();
    for (const id of this.subscribedFromBefore) {
      const subs = await super.subscriptionsByClient({ id });
      if (subs.length <= max) continue;
      const over = subs.slice(max).map((sub: Subscription) => sub.topic);
      await this.removeSubscriptions({ id }, over);
      removed.set(id, over);
    }
    this.subscribedFromBefore = [];
    return removed;
  }

  /** The messages each session is owed, queued or in flight, oldest first (for the queued cap at start). */
  *owedMessages(): Iterable<[clientId: string, packets: OutgoingPacket[]]> {
    for (const [clientId, queue] of this.owed) yield [clientId, queue.map((owed) => owed.packet)];
  }

  /** Each retained topic and its payload's size (for the retained cap at start: the stream Aedes reads took 0.2 s for 10,000). */
  retainedSizes(): Iterable<[topic: string, bytes: number]> {
    return this.retainedBytes;
  }

  override async storeRetained(packet: StoredPacket): Promise<void> {
    await super.storeRetained(packet);
    if (packet.payload.length === 0) {
      this.retainedBytes.delete(packet.topic);
      this.group.delete(keys.retained(packet.topic));
    } else {
      this.retainedBytes.set(packet.topic, packet.payload.length);
      this.group.put(keys.retained(packet.topic), encodePacket(packet));
    }
    await this.group.durable();
  }

  override async addSubscriptions(client: ClientRef, subs: Subscription[]): Promise<void> {
    await super.addSubscriptions(client, subs);
    for (const { topic, qos, rh, rap, nl, subscriptionIdentifier } of subs) {
      this.group.put(keys.subscription(client.id, topic), encode({ qos, rh, rap, nl, ...(subscriptionIdentifier !== undefined && { subscriptionIdentifier }) }));
    }
    await this.group.durable();
  }

  override async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await super.removeSubscriptions(client, topics);
    for (const topic of topics) this.group.delete(keys.subscription(client.id, topic));
    await this.group.durable();
  }

  override async cleanSubscriptions(client: ClientRef): Promise<void> {
    const subs = await super.subscriptionsByClient(client);
    await super.cleanSubscriptions(client);
    if (subs.length === 0) return;
    for (const { topic } of subs) this.group.delete(keys.subscription(client.id, topic));
    await this.group.durable();
  }

  override async outgoingEnqueue(sub: { clientId: string }, packet: OutgoingPacket): Promise<void> {
    this.enqueue(sub.clientId, packet);
    await this.group.durable();
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: OutgoingPacket): Promise<void> {
    for (const sub of subs) this.enqueue(sub.clientId, packet);
    await this.group.durable();
  }

  /** The same search as aedes-persistence's: by broker id and counter, else (a PUBREL) by packet id. */
  override async outgoingUpdate(client: ClientRef, packet: OutgoingPacket): Promise<void> {
    const queue = this.owed.get(client.id) ?? [];
    for (const owed of queue) {
      const kept = owed.packet;
      if (kept.brokerId === packet.brokerId) {
        if (kept.brokerCounter === packet.brokerCounter) {
          kept.messageId = packet.messageId;
          return this.rewrite(client.id, owed);
        }
      } else if (kept.messageId === packet.messageId) {
        owed.packet = packet;
        return this.rewrite(client.id, owed);
      }
    }
    throw new Error('no such packet');
  }

  override async outgoingClearMessageId(client: ClientRef, packet: { messageId?: number }): Promise<OutgoingPacket | undefined> {
    const queue = this.owed.get(client.id);
    const index = queue?.findIndex((owed) => owed.packet.messageId === packet.messageId) ?? -1;
    if (!queue || index === -1) return undefined;
    const [cleared] = queue.splice(index, 1) as [Owed];
    if (queue.length === 0) this.owed.delete(client.id);
    this.group.delete(keys.outgoing(client.id, cleared.seq));
    await this.group.durable();
    return cleared.packet;
  }

  override outgoingStream(client: ClientRef): Readable {
    return Readable.from((this.owed.get(client.id) ?? []).map((owed) => owed.packet));
  }

  override async incomingStorePacket(client: ClientRef, packet: OutgoingPacket): Promise<void> {
    await super.incomingStorePacket(client, packet);
    this.group.put(keys.incoming(client.id, packet.messageId!), encodePacket({ ...new Packet(packet), messageId: packet.messageId }));
    await this.group.durable();
  }

  override async incomingDelPacket(client: ClientRef, packet: { messageId: number }): Promise<void> {
    await super.incomingDelPacket(client, packet);
    this.group.delete(keys.incoming(client.id, packet.messageId));
    await this.group.durable();
  }

  override async putWill(client: ClientRef, packet: StoredPacket): Promise<void> {
    await super.putWill(client, packet);
    // Aedes's will (from the CONNECT) has no cmd: it is kept as the PUBLISH it becomes, which is what load() checks for.
    this.group.put(keys.will(client.id), encodePacket({ ...packet, cmd: 'publish' }, { username: this.usernameOf(client) }));
    await this.group.durable();
  }

  override async delWill(client: ClientRef): Promise<StoredPacket | undefined> {
    const will = (await super.delWill(client)) as StoredPacket | undefined;
    if (will === undefined) return undefined;
    this.group.delete(keys.will(client.id));
    await this.group.durable();
    return will;
  }

  /** Keeps (or, with null, forgets) a session's own record. */
  setSession(clientId: string, record: SessionRecord | null): void {
    if (record !== null) {
      this.sessionIds.add(clientId);
      this.group.put(keys.session(clientId), encode(record));
    } else if (this.sessionIds.delete(clientId)) {
      this.group.delete(keys.session(clientId)); // only one that exists: a clean client's connect writes nothing
    }
  }

  /** Ends a persistent session that expired: its subscriptions, the messages owed to it and its record. */
  async forgetSession(clientId: string): Promise<void> {
    await this.cleanSubscriptions({ id: clientId });
    for (const owed of this.owed.get(clientId) ?? []) this.group.delete(keys.outgoing(clientId, owed.seq));
    this.owed.delete(clientId);
    this.setSession(clientId, null);
    await this.group.durable();
  }

  private enqueue(clientId: string, packet: OutgoingPacket): void {
    const owed = { seq: ++this.seq, packet: new Packet(packet) as unknown as OutgoingPacket };
    this.queueOf(clientId).push(owed);
    this.group.put(keys.outgoing(clientId, owed.seq), encodePacket(owed.packet));
  }

  private async rewrite(clientId: string, owed: Owed): Promise<void> {
    this.group.put(keys.outgoing(clientId, owed.seq), encodePacket(owed.packet));
    await this.group.durable();
  }

  private queueOf(clientId: string): Owed[] {
    let queue = this.owed.get(clientId);
    if (!queue) this.owed.set(clientId, (queue = []));
    return queue;
  }
}

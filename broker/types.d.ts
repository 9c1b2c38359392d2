// aedes-persistence-redis ships no types.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  export default function aedesPersistenceRedis(options: { conn?: Redis; maxSessionDelivery?: number }): object;
}

// msgpack-lite ships no types: the encoding mqemitter-redis and aedes-persistence-redis use (broker/redis-stored.ts).
declare module 'msgpack-lite' {
  const msgpack: { encode(value: unknown): Buffer; decode(bytes: Buffer): unknown };
  export default msgpack;
}

// aedes-persistence's in-memory persistence (its types sit in types/, not beside the file): what the durable
// store (store/durable-persistence.ts) extends.
declare module 'aedes-persistence/asyncPersistence.js' {
  import type { Readable } from 'node:stream';
  type Packet = Record<string, unknown> & { topic: string; payload: Buffer };
  type Sub = { topic: string; qos: number; rh?: number; rap?: number; nl?: number; subscriptionIdentifier?: number };
  class AsyncMemory {
    static Packet: new (original: object, broker?: unknown) => Record<string, unknown>;
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: Packet): Promise<void>;
    createRetainedStreamCombi(patterns: string[]): Readable;
    addSubscriptions(client: { id: string }, subs: Sub[]): Promise<void>;
    removeSubscriptions(client: { id: string }, topics: string[]): Promise<void>;
    subscriptionsByClient(client: { id: string }): Promise<Sub[]>;
    cleanSubscriptions(client: { id: string }): Promise<void>;
    outgoingEnqueue(sub: { clientId: string }, packet: object): Promise<void>;
    outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void>;
    outgoingUpdate(client: { id: string }, packet: object): Promise<void>;
    outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<unknown>;
    outgoingStream(client: { id: string }): Readable;
    incomingStorePacket(client: { id: string }, packet: object): Promise<void>;
    incomingGetPacket(client: { id: string }, packet: { messageId: number }): Promise<unknown>;
    incomingDelPacket(client: { id: string }, packet: { messageId: number }): Promise<void>;
    putWill(client: { id: string }, packet: object): Promise<void>;
    getWill(client: { id: string }): Promise<unknown>;
    delWill(client: { id: string }): Promise<Packet | undefined>;
    destroy(): Promise<void>;
  }
  export default AsyncMemory;
}

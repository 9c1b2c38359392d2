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

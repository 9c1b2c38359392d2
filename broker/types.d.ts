// aedes-persistence-redis ships no types.
declare module 'aedes-persistence-redis' {
  import type { Redis } from 'ioredis';
  export default function aedesPersistenceRedis(options: { conn?: Redis; maxSessionDelivery?: number }): object;
}

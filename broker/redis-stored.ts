/**
 * aedes-persistence-redis decodes what it reads with msgpack and hands it to Aedes unchecked: one record that it
 * did not write (a retained message, a session's subscription, a will, a queued message) threw at start (when
 * Aedes loads the subscriptions and the retained cap counts the retained messages) or inside Aedes later. This
 * wraps the reads it makes on its own connection: each record is decoded and checked here (redis-records.ts), and
 * one that fails is logged and reads as absent; one that passes reads as its checked fields, encoded again.
 */
import { requireInternal } from './library-internals';
import type { Redis } from 'ioredis';
import msgpack from 'msgpack-lite';
import { Readable } from 'node:stream';
import { checkStored, checkSubscription, type Checked, type RecordLimits, type StoredKind } from './redis-records';

/** Called for each record dropped: its key (and field), and why. */
export type OnBadRecord = (key: string, reason: string) => void;

const RETAINED_HASH = 'retained';

/** The kind of packet stored under a key of aedes-persistence-redis 11 (asyncPersistence.js), or null. */
function kindOfKey(key: string): StoredKind | null {
  if (key.startsWith('will:')) return 'will';
  if (key.startsWith('retained:')) return 'retained';
  if (key.startsWith('packet:') || key.startsWith('outgoing:') || key.startsWith('incoming:')) return 'queued';
  return null;
}

type Reader = (...args: unknown[]) => Promise<unknown>;

export function guardStoredReads(db: Redis, limits: RecordLimits, onBad: OnBadRecord): void {
  const decoded = (bytes: Buffer, what: string, check: (value: unknown) => Checked<unknown>): Buffer | null => {
    let value: unknown;
    try {
      value = msgpack.decode(bytes);
    } catch {
      onBad(what, 'not msgpack');
      return null;
    }
    const checked = check(value);
    if ('problem' in checked) {
      onBad(what, checked.problem);
      return null;
    }
    return msgpack.encode(checked.ok);
  };
  const packet = (bytes: unknown, what: string, kind: StoredKind, field?: string) =>
    Buffer.isBuffer(bytes) ? decoded(bytes, what, (v) => checkStored(v, kind, limits, field)) : bytes;

  const target = db as unknown as Record<string, Reader>;
  const wrap = (name: string, guard: (result: unknown, args: unknown[]) => unknown) => {
    requireInternal(typeof target[name] === 'function', 'aedes-persistence-redis', `its Redis connection's ${name}`);
    const original = target[name]!.bind(db);
    target[name] = async (...args: unknown[]) => guard(await original(...args), args);
  };

  wrap('getBuffer', (result, [key]) => {
    const kind = kindOfKey(String(key));
    if (!kind) return result;
    if (kind !== 'retained') return packet(result, String(key), kind, undefined);
    const topic = topicOfRetainedKey(String(key));
    // A key that is not one Aedes wrote reads as absent, like any other record that does not check out.
    if (topic !== null) return packet(result, String(key), kind, topic);
    onBad(String(key), 'a retained key that is not an encoded topic');
    return null;
  });
  wrap('hgetBuffer', (result, [key, field]) => (key === RETAINED_HASH ? packet(result, `${RETAINED_HASH} ${String(field)}`, 'retained', String(field)) : result));
  wrap('hgetallBuffer', (result, [key]) => {
    if (!String(key).startsWith('client:') || typeof result !== 'object' || result === null) return result;
    const kept: Record<string, Buffer> = {};
    for (const [field, bytes] of Object.entries(result as Record<string, Buffer>)) {
      const good = decoded(bytes, `${String(key)} ${field}`, (v) => checkSubscription(v, field, limits));
      if (good) kept[field] = good;
    }
    return kept;
  });

  // hscanBufferStream yields [field, value, field, value, …] batches: drop the pairs that fail.
  requireInternal(typeof target.hscanBufferStream === 'function', 'aedes-persistence-redis', "its Redis connection's hscanBufferStream");
  const scan = target.hscanBufferStream!.bind(db) as unknown as (...args: unknown[]) => AsyncIterable<Buffer[]>;
  (target as Record<string, unknown>).hscanBufferStream = (...args: unknown[]) => {
    const source = scan(...args);
    if (args[0] !== RETAINED_HASH) return source;
    return Readable.from(
      (async function* () {
        for await (const batch of source) {
          const kept: Buffer[] = [];
          for (let i = 0; i + 1 < batch.length; i += 2) {
            const [key, value] = [batch[i]!, batch[i + 1]];
            const field = key.toString();
            const good = packet(value, `${RETAINED_HASH} ${field}`, 'retained', field);
            if (good) kept.push(key, good as Buffer);
          }
          yield kept;
        }
      })(),
    );
  };
}

/** The topic in a `retained:{encoded topic}` key, or null when the key is not an encoding (decodeURIComponent throws). */
function topicOfRetainedKey(key: string): string | null {
  try {
    return decodeURIComponent(key.slice('retained:'.length));
  } catch {
    return null;
  }
}

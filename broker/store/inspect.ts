/**
 * Reads a data folder's store from outside the broker, for `mqlive data`: what it holds, its retained messages
 * as a recording's messages, and clearing it. LevelDB lets one process open a store at a time, so while a broker
 * runs on the folder the store cannot be opened here: that is said (StoreInUseError, with the broker's PID)
 * rather than worked around with a copy that could be torn.
 */
import type { ClassicLevel } from 'classic-level';
import { existsSync } from 'node:fs';
import { forwardProperties, propertiesProblem, type MessageProperties } from '../../protocol/message-properties';
import type { RecordedMessage } from '../../protocol/recording';
import { checkPacket, decode, KIND, type StoredPacket } from './records';
import { DataDirError, folderBytes, openDatabase, storePath, StoreLockedError } from './store-folder';

/** The store is open in another process (a broker, as a rule): `pid` from DIR/broker.pid, null if unknown. */
export class StoreInUseError extends DataDirError {
  override name = 'StoreInUseError';
  constructor(
    readonly dir: string,
    readonly pid: number | null,
  ) {
    super(`${pid ? `the mqlive broker with PID ${pid}` : 'another program'} has the store in ${dir} open`);
  }
}

/** How many records of each kind the store holds. */
export interface StoreCounts {
  retained: number;
  /** Persistent sessions (each has a session record; clean sessions have none). */
  sessions: number;
  /** QoS 1 and 2 messages owed to sessions: queued for offline ones, or sent and not yet acknowledged. */
  queued: number;
  /** Wills of clients that were connected when the broker stopped. */
  wills: number;
  /** QoS 2 messages received from clients and not yet released (PUBREL). */
  awaitingPubrel: number;
}

export interface DataDirInfo {
  dir: string;
  /** Whether the folder holds a store (a broker has run on it). */
  store: boolean;
  /** Set while a process has the store open: its PID when it is an mqlive broker that wrote it down. */
  inUse: { pid: number | null } | null;
  /** Bytes the store's files take, or null without a store. */
  bytes: number | null;
  /** Null without a store, or while it is in use. */
  counts: StoreCounts | null;
}

export interface ReadableStore {
  counts(): Promise<StoreCounts>;
  /** The stored retained messages, in topic order. */
  retained(): AsyncIterable<{ topic: string; packet: StoredPacket }>;
  /** Deletes every record and compacts the files; returns what it deleted. */
  clear(): Promise<StoreCounts>;
  close(): Promise<void>;
}

export const hasStore = (dir: string): boolean => existsSync(storePath(dir));

/**
 * Opens the store of `dir` for `mqlive data`, or returns null when the folder has none. Creates nothing (no
 * folder, no database, no broker.pid). Throws StoreInUseError while a broker has it, DataDirError otherwise.
 */
export async function openStoreToRead(dir: string): Promise<ReadableStore | null> {
  if (!hasStore(dir)) return null;
  let db: ClassicLevel<string, Buffer>;
  try {
    db = await openDatabase(dir, { createIfMissing: false });
  } catch (error) {
    if (error instanceof StoreLockedError) throw new StoreInUseError(dir, error.pid);
    throw error;
  }

  const counts = async (): Promise<StoreCounts> => {
    const counts: StoreCounts = { retained: 0, sessions: 0, queued: 0, wills: 0, awaitingPubrel: 0 };
    for await (const key of db.keys()) {
      if (key[0] === KIND.retained) counts.retained += 1;
      else if (key[0] === KIND.session) counts.sessions += 1;
      else if (key[0] === KIND.outgoing) counts.queued += 1;
      else if (key[0] === KIND.will) counts.wills += 1;
      else if (key[0] === KIND.incoming) counts.awaitingPubrel += 1;
    }
    return counts;
  };

  return {
    counts,
    async *retained() {
      // Retained keys are `r` NUL topic: every one sorts between `r\0` and `r\x01`.
      for await (const [key, bytes] of db.iterator({ gte: `${KIND.retained}\0`, lt: `${KIND.retained}\x01` })) {
        const packet = checkPacket(key, decode(key, bytes));
        yield { topic: key.slice(2), packet };
      }
    },
    async clear() {
      const before = await counts();
      await db.clear();
      // The deletions are markers until a compaction drops them with what they delete: free the space now.
      await db.compactRange('\0', '\uffff');
      return before;
    },
    close: () => db.close(),
  };
}

/** What `mqlive data` shows: where, whether a broker has it, how big, how many of each. */
export async function inspectDataDir(dir: string): Promise<DataDirInfo> {
  let store: ReadableStore | null;
  try {
    store = await openStoreToRead(dir);
  } catch (error) {
    if (error instanceof StoreInUseError) return { dir, store: true, inUse: { pid: error.pid }, bytes: folderBytes(storePath(dir)), counts: null };
    throw error;
  }
  if (!store) return { dir, store: false, inUse: null, bytes: null, counts: null };
  try {
    return { dir, store: true, inUse: null, bytes: folderBytes(storePath(dir)), counts: await store.counts() };
  } finally {
    await store.close();
  }
}

/** Why a stored retained message is not exported, when it is not. */
export type LeftOut = 'expired' | 'reserved';

/**
 * A stored retained message as a recording's message: at t 0, retained, as `mqlive record` writes the retained
 * messages present when it starts. Its Message Expiry Interval is what is left of it at `now`, as a broker
 * would send it; an expired message is left out (no broker delivers it), and so is one on a `$` topic (the
 * broker's own: replay may not publish there).
 */
export function retainedAsRecorded(topic: string, packet: { payload: Buffer; qos: 0 | 1 | 2; properties?: unknown; messageExpiry?: unknown }, now: number): RecordedMessage | LeftOut {
  if (topic.startsWith('$')) return 'reserved';
  let properties = forwardProperties(packet.properties as Record<string, unknown> | undefined);
  if (typeof packet.messageExpiry === 'number') {
    const leftMs = packet.messageExpiry - now;
    if (leftMs <= 0) return 'expired';
    properties = { ...properties, messageExpiryInterval: Math.ceil(leftMs / 1000) };
  }
  // The broker took these properties, so they fit a recording; a value that would not is dropped, not guessed at.
  if (properties && propertiesProblem(properties)) properties = undefined;
  return { t: 0, topic, payload: packet.payload, qos: packet.qos, retain: true, ...(properties && { properties: properties as MessageProperties }) };
}

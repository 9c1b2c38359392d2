/**
 * The data folder: a LevelDB database in `store/` (classic-level; chosen by measurement, docs/store-choice.md)
 * and `broker.pid`, the PID of the broker that has it open. LevelDB's own lock file keeps a second process out;
 * the PID file only lets the refusal name the broker that holds the folder.
 */
import { ClassicLevel } from 'classic-level';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { basename, join } from 'node:path';
import { damagedLog } from './log-check';
import type { Change } from './write-group';

/** The data folder cannot be used: says which file or folder, why, and what to do. One line, no stack. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

export interface StoreFolder {
  readonly dir: string;
  /** Every key and value, in key order, a thousand at a time (one by one, 10,000 records took twice as long to load). */
  entries(): AsyncIterable<Array<[string, Buffer]>>;
  write(changes: Change[]): Promise<void>;
  /** Bytes the database's files take on disk. */
  sizeBytes(): number;
  /** Deletes every record (mqlive data clear). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export const storePath = (dir: string) => join(dir, 'store');
const pidPath = (dir: string) => join(dir, 'broker.pid');

export async function openStoreFolder(dir: string): Promise<StoreFolder> {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.R_OK | constants.W_OK);
  } catch (error) {
    throw new DataDirError(`cannot use the data folder ${dir}: ${reason(error)}; give mqlive a folder it may write with --data-dir DIR (or MQLIVE_DATA_DIR), or --data-dir none to keep nothing`);
  }
  const location = storePath(dir);
  const db = await openDatabase(dir, { createIfMissing: true });
  try {
    writeFileSync(pidPath(dir), `${process.pid}\n`);
  } catch (error) {
    await db.close();
    throw new DataDirError(`cannot write ${pidPath(dir)}: ${reason(error)}; give mqlive a folder it may write with --data-dir DIR`);
  }

  return {
    dir,
    entries: () => inBatches(db),
    write: (changes) =>
      db.batch(
        changes.map(([key, value]) => (value === null ? { type: 'del' as const, key } : { type: 'put' as const, key, value })),
        { sync: true },
      ),
    sizeBytes: () => folderBytes(location),
    clear: () => db.clear(),
    close: () => db.close(),
  };
}

async function* inBatches(db: ClassicLevel<string, Buffer>): AsyncIterable<Array<[string, Buffer]>> {
  const iterator = db.iterator();
  try {
    for (let batch = await iterator.nextv(1000); batch.length > 0; batch = await iterator.nextv(1000)) yield batch;
  } finally {
    await iterator.close();
  }
}

/** Another process has the store open: LevelDB's lock. */
export class StoreLockedError extends DataDirError {
  override name = 'StoreLockedError';
  constructor(
    message: string,
    readonly pid: number | null,
  ) {
    super(message);
  }
}

/**
 * Opens the LevelDB database of `dir` once its write-ahead logs read back (log-check.ts: LevelDB itself would drop
 * a damaged one without a word). Throws DataDirError (StoreLockedError while another process has it open).
 */
export async function openDatabase(dir: string, options: { createIfMissing: boolean }): Promise<ClassicLevel<string, Buffer>> {
  const location = storePath(dir);
  const damaged = damagedLog(location);
  if (damaged) {
    throw new DataDirError(`the store in ${location} is damaged (${basename(damaged.file)}: ${damaged.why} at byte ${damaged.offset}): move ${dir} aside to start with an empty store, and keep the copy`);
  }
  const db = new ClassicLevel<string, Buffer>(location, { keyEncoding: 'utf8', valueEncoding: 'buffer', createIfMissing: options.createIfMissing });
  try {
    await db.open();
  } catch (error) {
    throw openError(dir, location, error);
  }
  return db;
}

function openError(dir: string, location: string, error: unknown): DataDirError {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === 'LEVEL_LOCKED') {
    const pid = readPid(dir);
    const who = pid ? `another mqlive broker (PID ${pid})` : 'another process (mqlive data, perhaps)';
    return new StoreLockedError(`${who} is using the data folder ${dir}: stop it, or give this broker another --data-dir`, pid);
  }
  if (cause?.code === 'LEVEL_CORRUPTION') {
    return new DataDirError(`the store in ${location} is damaged (${oneLine(cause.message)}): move ${dir} aside to start with an empty store, and keep the copy`);
  }
  return new DataDirError(`cannot open the store in ${location}: ${oneLine(cause?.message ?? reason(error))}; check the folder's permissions and free space, or give mqlive another --data-dir`);
}

/** The PID in broker.pid, if that process is alive (one left by a broker that crashed names nobody). */
export function readPid(dir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(pidPath(dir), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

export function folderBytes(path: string): number {
  let total = 0;
  for (const name of readdirSync(path)) total += statSync(join(path, name), { throwIfNoEntry: false })?.size ?? 0;
  return total;
}

function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  if (e.code === 'ENOSPC') return 'the disk is full';
  if (e.code === 'EROFS') return 'the file system is read-only';
  if (e.code === 'ENOTDIR' || e.code === 'EEXIST') return 'a file is in the way of the folder';
  return oneLine(e.message ?? String(error));
}

const oneLine = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').trim();

/**
 * The durable store (issue 28): opens the data folder, loads what it holds into the persistence Aedes will use,
 * and closes it once every write is on disk. See docs/persistence.md for what is kept and what a crash can lose.
 */
import { DurablePersistence } from './durable-persistence';
import { DamagedRecordError } from './records';
import { DataDirError, openStoreFolder, storePath, type StoreFolder } from './store-folder';
import { WriteGroup } from './write-group';

export { DataDirError } from './store-folder';

export interface DurableStore {
  dir: string;
  persistence: DurablePersistence;
  folder: StoreFolder;
  /** Waits for every write, then closes the database. */
  close(): Promise<void>;
}

/** `onFailure` is told once if a write fails (a full disk, the folder gone): acknowledgements can no longer be kept. */
export async function openDurableStore(dir: string, onFailure: (error: DataDirError) => void): Promise<DurableStore> {
  const folder = await openStoreFolder(dir);
  const failed = (error: Error) => onFailure(new DataDirError(`cannot write the store in ${storePath(dir)}: ${error.message.replace(/\s+/g, ' ')}; free some space or fix the folder, then start mqlive again`));
  const persistence = new DurablePersistence(new WriteGroup(folder.write, failed));
  try {
    await persistence.load(folder.entries());
  } catch (error) {
    await folder.close();
    const what = error instanceof DamagedRecordError ? `holds ${error.message}` : `cannot be read (${String((error as Error).message).replace(/\s+/g, ' ')})`;
    throw new DataDirError(`the store in ${storePath(dir)} ${what}: move ${dir} aside to start with an empty store, and keep the copy`);
  }
  let closing: Promise<void> | undefined;
  return {
    dir,
    persistence,
    folder,
    close: () =>
      (closing ??= (async () => {
        await persistence.group.stop();
        await folder.close();
      })()),
  };
}

import { describe, expect, it } from 'vitest';
import { WriteGroup, type Change } from './write-group';

/** A batch writer that records each batch and finishes it only when told (a disk is slow). */
function slowDisk() {
  const batches: Change[][] = [];
  const finish: Array<(error?: Error) => void> = [];
  const write = (changes: Change[]) => {
    batches.push(changes);
    return new Promise<void>((resolve, reject) => finish.push((error) => (error ? reject(error) : resolve())));
  };
  return { batches, finish, write };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const v = (text: string) => Buffer.from(text);

describe('WriteGroup', () => {
  it('writes the changes of one event-loop turn as one batch, the last change to a key winning, and is durable only once it is written', async () => {
    const disk = slowDisk();
    const group = new WriteGroup(disk.write, () => {});
    group.put('a', v('1'));
    group.put('b', v('2'));
    group.put('a', v('3'));
    group.delete('b');
    let durable = false;
    const done = group.durable().then(() => (durable = true));
    await turn();
    expect(disk.batches).toEqual([[['a', v('3')], ['b', null]]]);
    await turn();
    expect(durable).toBe(false); // written, not yet synced
    disk.finish[0]!();
    await done;
    expect(durable).toBe(true);
  });

  it('keeps changes made while a batch is written for the next one, written after it, in order', async () => {
    const disk = slowDisk();
    const group = new WriteGroup(disk.write, () => {});
    group.put('a', v('1'));
    const first = group.durable();
    await turn();
    group.put('a', v('2'));
    const second = group.durable();
    await turn();
    await turn();
    expect(disk.batches).toHaveLength(1); // one batch at a time
    disk.finish[0]!();
    await first;
    await turn();
    await turn();
    expect(disk.batches).toEqual([[['a', v('1')]], [['a', v('2')]]]);
    disk.finish[1]!();
    await second;
  });

  it('resolves durable() at once when nothing waits, and after the batch in flight when one is', async () => {
    const disk = slowDisk();
    const group = new WriteGroup(disk.write, () => {});
    await group.durable();
    group.put('a', v('1'));
    await turn();
    let durable = false;
    const done = group.durable().then(() => (durable = true));
    await turn();
    expect(durable).toBe(false);
    disk.finish[0]!();
    await done;
  });

  it('tells a failed batch once, and refuses every later durable() (an acknowledgement it cannot keep is never given)', async () => {
    const disk = slowDisk();
    const failures: Error[] = [];
    const group = new WriteGroup(disk.write, (error) => failures.push(error));
    group.put('a', v('1'));
    const first = group.durable();
    await turn();
    disk.finish[0]!(new Error('ENOSPC'));
    await expect(first).rejects.toThrow('ENOSPC');
    group.put('b', v('2'));
    await expect(group.durable()).rejects.toThrow('ENOSPC');
    expect(failures.map((e) => e.message)).toEqual(['ENOSPC']);
  });
});

describe('WriteGroup.stop', () => {
  it('writes what waits, then nothing more: a change after it (a disconnect during shutdown) never reaches a closed database', async () => {
    const disk = slowDisk();
    const group = new WriteGroup(disk.write, () => {});
    group.put('a', v('1'));
    const stopped = group.stop();
    await turn();
    disk.finish[0]!();
    await stopped;
    group.put('b', v('2'));
    await group.durable();
    await turn();
    await turn();
    expect(disk.batches).toEqual([[['a', v('1')]]]);
  });
});

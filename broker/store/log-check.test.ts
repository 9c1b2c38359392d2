import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLog, crc32c } from './log-check';
import { openDurableStore } from './store';

const folders: string[] = [];
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The write-ahead log of a real store, holding `count` retained messages (LevelDB writes it; nothing is faked). */
async function realLog(count: number): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-log-'));
  folders.push(dir);
  const store = await openDurableStore(dir, (error) => {
    throw error;
  });
  for (let i = 0; i < count; i++) await store.persistence.storeRetained({ cmd: 'publish', topic: `t/${i}`, payload: Buffer.alloc(900, i), qos: 1, retain: true });
  await store.close();
  const name = readdirSync(join(dir, 'store')).find((n) => n.endsWith('.log') && statSync(join(dir, 'store', n)).size > 0)!;
  return readFileSync(join(dir, 'store', name));
}

describe("LevelDB's write-ahead log, read before LevelDB opens it", () => {
  it('computes CRC-32C (the check value of the standard test vector)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('reads back a log LevelDB wrote, across blocks', async () => {
    const log = await realLog(80); // ~72 KiB: three 32 KiB blocks
    expect(log.length).toBeGreaterThan(64 * 1024);
    expect(checkLog(log)).toBeNull();
  });

  it('takes a log cut short at its end for what a crash leaves (a torn write), not for damage', async () => {
    const log = await realLog(5);
    for (const cut of [1, 7, 100, log.length - 3]) expect(checkLog(log.subarray(0, log.length - cut)), `cut ${cut}`).toBeNull();
  });

  it('finds one changed byte inside a record, a log overwritten with junk, and a record of unknown type', async () => {
    const log = await realLog(5);
    const flipped = Buffer.from(log);
    flipped[Math.floor(log.length / 2)]! ^= 0x01;
    expect(checkLog(flipped)).toMatchObject({ why: 'a record whose checksum does not match' });
    expect(checkLog(Buffer.alloc(log.length, 0xa5))).toMatchObject({ offset: 0, why: 'a record of unknown type 165' });
    const typed = Buffer.from(log);
    typed[6] = 9;
    expect(checkLog(typed)).toMatchObject({ offset: 0, why: 'a record of unknown type 9' });
  });
});

/**
 * Checks LevelDB's write-ahead logs (store/*.log) before the database opens them. At open LevelDB replays each log
 * and, finding a record it cannot read, drops the rest without a word and deletes the file (it takes the damage
 * for a write torn by a crash; classic-level offers no paranoid mode): a damaged log would be a silent empty
 * start over the user's data. So mqlive reads the logs first, as LevelDB's log format defines them
 * (doc/log_format.md: 32 KiB blocks of records, each with a masked CRC-32C, its length and its type), and refuses
 * a log with a record that does not read back. A torn write can only cut the log short at its end: a last record
 * that runs past the end of the file is what a crash leaves, and is not damage.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const BLOCK_BYTES = 32 * 1024;
const HEADER_BYTES = 7;
/** Record types: FULL, FIRST, MIDDLE, LAST (zero is padding LevelDB may leave). */
const LAST_TYPE = 4;

/** Where a log's first unreadable record is, or null when every log reads back. */
export function damagedLog(storeDir: string): { file: string; offset: number; why: string } | null {
  let names: string[];
  try {
    names = readdirSync(storeDir).filter((name) => name.endsWith('.log'));
  } catch {
    return null; // no store yet
  }
  for (const name of names) {
    const problem = checkLog(readFileSync(join(storeDir, name)));
    if (problem) return { file: join(storeDir, name), ...problem };
  }
  return null;
}

export function checkLog(log: Buffer): { offset: number; why: string } | null {
  let offset = 0;
  while (offset < log.length) {
    const leftInBlock = BLOCK_BYTES - (offset % BLOCK_BYTES);
    if (leftInBlock < HEADER_BYTES) {
      offset += leftInBlock; // a block's trailer: zeros
      continue;
    }
    if (offset + HEADER_BYTES > log.length) return null; // a header cut short: a torn write at the end
    const length = log.readUInt16LE(offset + 4);
    const type = log[offset + 6]!;
    if (type === 0 && length === 0) {
      offset += HEADER_BYTES; // padding
      continue;
    }
    if (type < 1 || type > LAST_TYPE) return { offset, why: `a record of unknown type ${type}` };
    if (HEADER_BYTES + length > leftInBlock) return { offset, why: 'a record longer than its block' };
    if (offset + HEADER_BYTES + length > log.length) return null; // the last record cut short: a torn write
    const stored = log.readUInt32LE(offset);
    const actual = mask(crc32c(log.subarray(offset + 6, offset + HEADER_BYTES + length)));
    if (stored !== actual) return { offset, why: 'a record whose checksum does not match' };
    offset += HEADER_BYTES + length;
  }
  return null;
}

/** LevelDB stores a CRC masked, so that a CRC of data holding CRCs is not a CRC of itself (util/crc32c.h). */
function mask(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), the checksum LevelDB uses. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

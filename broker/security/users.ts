import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { assertId } from '../../protocol';

export const ROLES = ['device', 'viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** scrypt parameters (RFC 7914): N = 2^14, r = 8, p = 1, a 64-byte key: about 16 MiB and 50 ms per check. */
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 } as const;

export interface StoredUser {
  role: Role;
  /** `scrypt$N$r$p$salt$hash`, salt and hash in base64; never the password itself. */
  password: string;
}

export interface UsersFile {
  users: Record<string, StoredUser>;
}

export class UsersFileError extends Error {
  override name = 'UsersFileError';
}

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCallback(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** Reads a users file, saying what is wrong with it rather than failing on the first bad byte. */
export async function readUsers(file: string): Promise<UsersFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsersFileError(`users file ${file} does not exist: create it with npm run users -- add NAME --role viewer --file ${file}`);
    throw new UsersFileError(`cannot read users file ${file}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsersFileError(`users file ${file} is not valid JSON`);
  }
  const users = (data as UsersFile | null)?.users;
  if (typeof users !== 'object' || users === null) throw new UsersFileError(`users file ${file} has no "users" object`);
  for (const [name, user] of Object.entries(users)) {
    if (!ROLES.includes(user?.role)) throw new UsersFileError(`users file ${file}: user "${name}" has no valid role (${ROLES.join(', ')})`);
    if (typeof user.password !== 'string' || !user.password.startsWith('scrypt$')) throw new UsersFileError(`users file ${file}: user "${name}" has no scrypt password hash`);
  }
  return { users };
}

/** Writes the file whole and then moves it into place, so a crash never leaves half a file. */
export async function writeUsers(file: string, data: UsersFile): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

/** User names follow the id rule: a device's user name is its device id in its topics. */
export function assertUserName(name: string): string {
  return assertId(name, 'user');
}

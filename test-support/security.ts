import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword, type Role, type UsersFile } from '../broker/security/users';
import { requireTool } from './tools';

/** A users file in memory and on disk, with the given users (password = name + "-password"). */
export async function makeUsers(users: Record<string, Role>): Promise<{ data: UsersFile; file: string }> {
  const data: UsersFile = { users: {} };
  for (const [name, role] of Object.entries(users)) data.users[name] = { role, password: await hashPassword(`${name}-password`) };
  const file = join(mkdtempSync(join(tmpdir(), 'mqlive-users-')), 'users.json');
  writeFileSync(file, JSON.stringify(data));
  return { data, file };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl for this test run. */
export function selfSignedCert(): { cert: Buffer; key: Buffer; certFile: string; keyFile: string } {
  requireTool('openssl', 'openssl');
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-tls-'));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), certFile, keyFile };
}

/**
 * mqlive users add NAME --role device|viewer|admin [--file users.json]   (password from a prompt or stdin)
 * mqlive users remove NAME [--file users.json]
 * mqlive users list [--file users.json]
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { defineCommand, UsageError, userValue } from '../cli/command';
import type { OptionSpecs } from '../cli/options';
import { assertUserName, hashPassword, readUsers, ROLES, writeUsers, type Role, type UsersFile } from './security/users';

const OPTIONS = {
  file: { env: 'MQLIVE_USERS', type: 'string', help: 'the users file (default users.json)' },
  role: { env: 'MQLIVE_ROLE', type: 'string', help: `with add: ${ROLES.join(', ')}` },
} satisfies OptionSpecs;

const MIN_PASSWORD_CHARS = 8;

/** Reads the password without echoing it on a terminal; from a pipe, its first line. */
async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += chunk;
    return text.split(/\r?\n/)[0] ?? '';
  }
  let muted = false;
  const output = new Writable({ write: (chunk, _enc, cb) => (muted || process.stdout.write(chunk), cb()) });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      process.stdout.write(q);
      muted = true;
      rl.question('', (answer) => {
        muted = false;
        process.stdout.write('\n');
        resolve(answer);
      });
    });
  const first = await ask('Password: ');
  const again = await ask('Again: ');
  rl.close();
  if (first !== again) throw new UsageError('the two passwords differ');
  return first;
}

export const usersCommand = defineCommand({
  name: 'users',
  summary: 'adds, removes and lists the broker\'s users (scrypt-hashed passwords, one role each)',
  synopsis: [`add NAME --role ${ROLES.join('|')} [--file FILE]`, 'remove NAME [--file FILE]', 'list [--file FILE]'],
  notes: `The password is asked for, or read from stdin when it is not a terminal; it needs at least ${MIN_PASSWORD_CHARS} characters.`,
  options: OPTIONS,
  positionals: true,
  async run(options, [command, ...names]) {
    const file = options.file || 'users.json';
    const role = options.role;
    const load = async (): Promise<UsersFile> => (existsSync(file) ? readUsers(file) : { users: {} });

    switch (command) {
      case 'add': {
        const name = userValue(() => assertUserName(names[0] ?? ''));
        if (!ROLES.includes(role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
        const password = await readPassword();
        if (password.length < MIN_PASSWORD_CHARS) throw new UsageError(`the password must have at least ${MIN_PASSWORD_CHARS} characters`);
        const data = await load();
        const existed = name in data.users;
        data.users[name] = { role: role as Role, password: await hashPassword(password) };
        await writeUsers(file, data);
        console.log(`${existed ? 'Updated' : 'Added'} ${name} (${role}) in ${file}`);
        return;
      }
      case 'remove': {
        const name = names[0] ?? '';
        const data = await load();
        if (!(name in data.users)) throw new UsageError(`no user "${name}" in ${file}`);
        delete data.users[name];
        await writeUsers(file, data);
        console.log(`Removed ${name} from ${file}`);
        return;
      }
      case 'list': {
        const data = await load();
        const entries = Object.entries(data.users);
        if (entries.length === 0) console.log(`No users in ${file}`);
        for (const [name, user] of entries) console.log(`${name}\t${user.role}`);
        return;
      }
      default:
        throw new UsageError(command ? `unknown command "${command}": use add, remove or list (mqlive users --help)` : 'say add, remove or list (mqlive users --help)');
    }
  },
});

/**
 * npm run users -- add NAME --role device|viewer|admin [--file users.json]   (password from a prompt or stdin)
 * npm run users -- remove NAME [--file users.json]
 * npm run users -- list [--file users.json]
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { assertUserName, hashPassword, readUsers, ROLES, writeUsers, type Role, type UsersFile } from './security/users';

const USAGE = `usage: npm run users -- add NAME --role ${ROLES.join('|')} [--file FILE]
       npm run users -- remove NAME [--file FILE]
       npm run users -- list [--file FILE]
FILE defaults to $MQLIVE_USERS or users.json. The password is asked for, or read from stdin when it is not a terminal.`;

class CliError extends Error {}

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
  if (first !== again) throw new CliError('the two passwords differ');
  return first;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  let file = process.env.MQLIVE_USERS || 'users.json';
  let role: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--file') file = rest[++i] ?? '';
    else if (rest[i] === '--role') role = rest[++i];
    else if (rest[i]!.startsWith('--')) throw new CliError(`unknown option ${rest[i]}`);
    else names.push(rest[i]!);
  }
  const load = async (): Promise<UsersFile> => (existsSync(file) ? readUsers(file) : { users: {} });

  switch (command) {
    case 'add': {
      const name = assertUserName(names[0] ?? '');
      if (!ROLES.includes(role as Role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}`);
      const password = await readPassword();
      if (password.length < 8) throw new CliError('the password must have at least 8 characters');
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
      if (!(name in data.users)) throw new CliError(`no user "${name}" in ${file}`);
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
      throw new CliError(command ? `unknown command "${command}"\n${USAGE}` : USAGE);
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  console.error(`mqlive users: ${(error as Error).message}`);
  process.exitCode = 2;
}

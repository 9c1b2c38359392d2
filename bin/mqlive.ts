#!/usr/bin/env node
/**
 * `mqlive`: one command with subcommands (up, broker, publisher, users, record, replay, data), each with the same flags and
 * MQLIVE_* variables as its own help lists. A subcommand's module is loaded only when it runs, so the
 * publisher does not load the broker and the other way round.
 */
import { readFileSync } from 'node:fs';
import { EXIT, runCommand, type Command } from '../cli/command';

const COMMANDS: Record<string, () => Promise<Command>> = {
  up: async () => (await import('../scripts/up')).upCommand as unknown as Command,
  broker: async () => (await import('../broker/cli')).brokerCommand as unknown as Command,
  publisher: async () => (await import('../publisher/cli')).publisherCommand as unknown as Command,
  users: async () => (await import('../broker/users-cli')).usersCommand as unknown as Command,
  record: async () => (await import('../recorder/record')).recordCommand as unknown as Command,
  replay: async () => (await import('../recorder/replay')).replayCommand as unknown as Command,
  data: async () => (await import('../broker/data-cli')).dataCommand as unknown as Command,
};

function version(): string {
  // bin/mqlive.ts in a clone and dist/mqlive.js in the package both sit one folder below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function usage(): Promise<string> {
  const lines = ['usage: mqlive COMMAND [options]', '', 'commands:'];
  for (const [command, load] of Object.entries(COMMANDS)) lines.push(`  ${command.padEnd(11)} ${(await load()).summary}`);
  lines.push('', 'mqlive help COMMAND (or mqlive COMMAND --help) lists its options; mqlive --version prints the version.');
  return lines.join('\n');
}

async function help(name?: string): Promise<number> {
  if (name) {
    const load = COMMANDS[name];
    if (!load) return unknown(name);
    return runCommand(await load(), { argv: ['--help'] });
  }
  console.log(await usage());
  return EXIT.ok;
}

function unknown(name: string): number {
  console.error(`mqlive: unknown command "${name}": use ${Object.keys(COMMANDS).join(', ')} (mqlive help)`);
  return EXIT.usage;
}

async function main([name, ...rest]: string[]): Promise<number> {
  if (name === undefined) {
    // No command is a mistake (the usage says what to type), not a request for help.
    console.error(await usage());
    return EXIT.usage;
  }
  if (name === 'help' || name === '--help' || name === '-h') return help(name === 'help' ? rest[0] : undefined);
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(version());
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) return unknown(name);
  return runCommand(await load(), { argv: rest });
}

// Output cut short (`mqlive publisher | head -3`): stop as on Ctrl-C, each command its own way, without a stack trace.
let stdoutGone = false;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  if (stdoutGone) return;
  stdoutGone = true;
  process.kill(process.pid, 'SIGTERM');
});

const code = await main(process.argv.slice(2));
// A long-running command returns 0 once it is up and stays up on its listeners; a failure ends the process
// now, whatever timers or sockets it had opened.
if (code !== EXIT.ok) process.exit(code);

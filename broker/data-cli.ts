/**
 * mqlive data [info] [--json]     where the broker's data is, whether a broker has it open, how much it holds
 * mqlive data export [--out FILE]  its retained messages as a recording (protocol/recording.ts), for mqlive replay
 * mqlive data clear [--yes]        deletes everything the store holds (asks first on a terminal)
 *
 * Each reads the data folder a broker given the same --data-dir (or MQLIVE_DATA_DIR) would use. LevelDB lets one
 * process open a store: while a broker runs on the folder, info shows what it can without opening it, and
 * export and clear refuse, naming the broker's PID.
 */
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { CommandError, defineCommand, EXIT, UsageError } from '../cli/command';
import type { OptionSpecs } from '../cli/options';
import { encodeHeader, encodeMessage } from '../protocol/recording';
import { formatBytes } from '../recorder/connection';
import { openRecordingOutput } from '../recorder/recording-file';
import { defaultDataDir, resolveDataDir } from './store/data-dir';
import { inspectDataDir, openStoreToRead, retainedAsRecorded, StoreInUseError, type DataDirInfo, type ReadableStore, type StoreCounts } from './store/inspect';
import { DamagedRecordError } from './store/records';

const OPTIONS = {
  'data-dir': { env: 'MQLIVE_DATA_DIR', type: 'string', help: `the broker's data folder (default ${defaultDataDir()})` },
  json: { env: '', type: 'flag', help: 'with info: print one JSON object, for scripts' },
  out: { env: '', type: 'string', help: 'with export: the recording to write, replaced if it exists (default: stdout)' },
  yes: { env: '', type: 'flag', help: 'with clear: delete without asking' },
} satisfies OptionSpecs;

/** Which options each subcommand takes (--data-dir goes with all). */
const TAKES: Record<string, (keyof typeof OPTIONS)[]> = { info: ['json'], export: ['out'], clear: ['yes'] };

export const dataCommand = defineCommand({
  name: 'data',
  summary: "shows the broker's data folder, exports its retained messages as a recording, clears it",
  synopsis: ['[info] [--json] [--data-dir DIR]', 'export [--out FILE] [--data-dir DIR]', 'clear [--yes] [--data-dir DIR]'],
  notes: [
    'info (the default): the folder, whether a broker has it open (its PID), size on disk, and how many retained',
    'messages, persistent sessions, queued messages and wills it holds. export: the retained messages as a',
    'recording (mqlive replay --in FILE publishes them again), at t 0 with their QoS and MQTT 5 properties;',
    "expired ones and $ topics are left out. clear: deletes them all, with every session and queued message.",
    'While a broker runs on the folder its store cannot be opened by another process: info shows the folder,',
    'the PID and the size only; export and clear refuse. Stop the broker first.',
  ].join('\n'),
  options: OPTIONS,
  positionals: true,
  async run(options, positionals) {
    const [sub = 'info', ...extra] = positionals;
    const takes = TAKES[sub];
    if (!takes) throw new UsageError(`unknown subcommand "${sub}": use info, export or clear (mqlive data --help)`);
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}" after mqlive data ${sub}`);
    for (const [name, value] of Object.entries(options)) {
      if (value !== undefined && name !== 'data-dir' && name !== 'help' && !takes.includes(name as keyof typeof OPTIONS)) {
        throw new UsageError(`--${name} goes with mqlive data ${Object.keys(TAKES).find((s) => TAKES[s]!.includes(name as keyof typeof OPTIONS))}, not ${sub}`);
      }
    }
    const dir = resolveDataDir(options['data-dir']);
    if (dir === null) {
      throw new UsageError('the data folder is none (--data-dir or MQLIVE_DATA_DIR): such a broker keeps nothing on disk; name the folder a broker uses with --data-dir DIR');
    }
    if (sub === 'export') return exportRetained(dir, options.out ?? '-');
    if (sub === 'clear') return clear(dir, options.yes ?? false);
    const info = await inspectDataDir(dir);
    console.log(options.json ? JSON.stringify(info) : infoLines(info).join('\n'));
    return EXIT.ok;
  },
});

/** The human form of `mqlive data info`. */
export function infoLines(info: DataDirInfo): string[] {
  const line = (label: string, value: string | number) => `${`${label}:`.padEnd(22)}${value}`;
  const lines = [line('data folder', info.dir)];
  if (!info.store) return [...lines, line('store', `none yet (a broker started with --data-dir ${info.dir} makes one)`)];
  lines.push(line('in use', info.inUse ? `by ${info.inUse.pid ? `the mqlive broker with PID ${info.inUse.pid}` : 'another program'}` : 'no (no broker has it open)'));
  lines.push(line('size on disk', formatBytes(info.bytes ?? 0)));
  const counts = info.counts;
  if (!counts) return [...lines, line('counts', 'not while a broker has the store open (one process at a time); stop it to see them')];
  return [
    ...lines,
    line('retained messages', counts.retained),
    line('persistent sessions', counts.sessions),
    line('queued messages', `${counts.queued} (QoS 1 and 2, owed to sessions)`),
    line('wills', `${counts.wills} (published at the next start)`),
    line('awaiting PUBREL', `${counts.awaitingPubrel} (QoS 2 received, not yet released)`),
  ];
}

/** Opens the store for export or clear; a broker using it is a one-line refusal naming its PID. */
async function openOrRefuse(dir: string, what: string): Promise<ReadableStore | null> {
  try {
    return await openStoreToRead(dir);
  } catch (error) {
    if (error instanceof StoreInUseError) throw new CommandError(`${error.message}: stop it first, then ${what}`);
    throw new CommandError((error as Error).message);
  }
}

async function exportRetained(dir: string, out: string): Promise<number> {
  const toStdout = out === '-';
  // The summary goes where the recording does not.
  const say = (line: string) => void (toStdout ? process.stderr : process.stdout).write(`${line}\n`);
  const store = await openOrRefuse(dir, "export (or record its retained messages live: mqlive record --topic '#' --seconds 1 --out FILE)");
  if (!store) throw new CommandError(`no store in ${dir} yet: nothing to export (a broker started with --data-dir ${dir} makes one)`);
  let output: ReturnType<typeof openRecordingOutput> | undefined;
  const left = { expired: 0, reserved: 0 };
  let exported = 0;
  try {
    // Opened only once the store is: a refusal leaves an existing file as it was.
    output = openRecordingOutput(out);
    const now = Date.now();
    output.write(`${encodeHeader({ startedAt: now, broker: pathToFileURL(dir).href, filters: ['#'] })}\n`);
    for await (const { topic, packet } of store.retained()) {
      const message = retainedAsRecorded(topic, packet, now);
      if (typeof message === 'string') left[message] += 1;
      else {
        output.write(`${encodeMessage(message)}\n`);
        exported += 1;
      }
    }
  } catch (error) {
    if (error instanceof DamagedRecordError) throw new CommandError(`the store in ${dir} holds ${error.message}: the export stopped there`);
    throw error;
  } finally {
    output?.close();
    await store.close();
  }
  const leftOut = [left.expired && `${left.expired} expired`, left.reserved && `${plural(left.reserved, 'message')} on $ topics (the broker's own)`].filter(Boolean);
  say(`exported ${plural(exported, 'retained message')} from ${dir} to ${toStdout ? 'stdout' : out}${leftOut.length ? `; left out ${leftOut.join(' and ')}` : ''}`);
  return 0;
}

async function clear(dir: string, yes: boolean): Promise<number> {
  const what = 'clear';
  let store = await openOrRefuse(dir, what);
  if (!store) {
    console.log(`no store in ${dir}: nothing to clear`);
    return 0;
  }
  const counts = await store.counts();
  if (total(counts) === 0) {
    await store.close();
    console.log(`the store in ${dir} is empty: nothing to clear`);
    return 0;
  }
  if (!yes) {
    // The store is closed while the user decides: a broker started meanwhile is not refused because of us.
    await store.close();
    if (!process.stdin.isTTY) throw new UsageError(`refusing to delete ${describe(counts)} from ${dir} without confirmation (stdin is not a terminal): add --yes`);
    if (!(await confirm(`delete ${describe(counts)} from ${dir}? [y/N] `))) {
      console.log('nothing deleted');
      return 1;
    }
    store = await openOrRefuse(dir, what);
    if (!store) throw new CommandError(`the store in ${dir} went away while you answered: nothing deleted`);
  }
  try {
    const deleted = await store.clear();
    console.log(`cleared ${dir}: deleted ${describe(deleted)}`);
  } finally {
    await store.close();
  }
  return 0;
}

/** Asks on the terminal; anything but y or yes, Ctrl-C or Ctrl-D is a no. */
function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.on('SIGINT', () => {
      process.stderr.write('\n');
      rl.close();
    });
    rl.on('close', () => resolve(false)); // after an answer, resolve has been called already
    rl.question(question, (answer) => {
      resolve(/^y(es)?$/i.test(answer.trim()));
      rl.close();
    });
  });
}

const total = (c: StoreCounts) => c.retained + c.sessions + c.queued + c.wills + c.awaitingPubrel;

/** What a store holds, in words, its empty kinds left out: "2 retained messages and 1 persistent session". */
function describe(c: StoreCounts): string {
  const parts = [
    c.retained && plural(c.retained, 'retained message'),
    c.sessions && plural(c.sessions, 'persistent session'),
    c.queued && plural(c.queued, 'queued message'),
    c.wills && plural(c.wills, 'will'),
    c.awaitingPubrel && plural(c.awaitingPubrel, 'QoS 2 message awaiting PUBREL', 'QoS 2 messages awaiting PUBREL'),
  ].filter((part): part is string => typeof part === 'string');
  return parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : (parts[0] ?? 'nothing');
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

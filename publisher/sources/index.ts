/**
 * The capture sources, one line each. `--source` takes a name from here or `auto`, which tries the entries
 * marked `auto` in this order; `--help`, the CLI's checks and `make up`'s SOURCE read this list.
 * A new source is one file exporting a SourceEntry, plus one line below.
 */
import { demoSource } from './demo-source';
import { evdevSource } from './evdev-source';
import { SourceFlagError, type MouseSource, type SourceContext, type SourceEntry, type SourceFlag, type SourceFlagValues } from './source';
import { replaySource } from './replay-source';
import { uiohookSource } from './uiohook-source';

export const SOURCES: readonly SourceEntry[] = [
  uiohookSource, // real capture wherever a desktop answers
  evdevSource, // Linux without X, or a Wayland desktop, when /dev/input is readable
  demoSource, // always opens: the last resort of auto
  replaySource, // only when asked for: --source replay:FILE
];

export const AUTO = 'auto';

/** Every word `--source` takes: `auto`, then the registry's names. */
export function sourceChoices(sources: readonly SourceEntry[] = SOURCES): string[] {
  return [AUTO, ...sources.map(choice)];
}

/** How `--source` names an entry: `demo`, or `replay:FILE` for one that takes an argument. */
function choice(source: SourceEntry): string {
  return source.argument ? `${source.name}:${source.argument}` : source.name;
}

/** `replay:rec.jsonl` is the entry `replay` with the argument `rec.jsonl`. */
function splitChoice(value: string): { name: string; argument: string | undefined } {
  const colon = value.indexOf(':');
  return colon === -1 ? { name: value, argument: undefined } : { name: value.slice(0, colon), argument: value.slice(colon + 1) };
}

/** The `--source` help: one line per choice. */
export function sourceHelp(): string {
  const auto = SOURCES.filter((s) => s.auto).map((s) => s.name);
  const lines = [[AUTO, `the first of ${auto.join(', ')} that can capture here (the default)`], ...SOURCES.map((s) => [choice(s), s.description])];
  const width = Math.max(...lines.map(([name]) => name!.length)) + 2;
  return lines.map(([name, text]) => `  ${name!.padEnd(width)}${text}`).join('\n');
}

/** The flags of every source, for the CLI's option table. */
export function sourceFlags(): Record<string, SourceFlag> {
  return Object.assign({}, ...SOURCES.map((s) => s.flags ?? {}));
}

/** The entry for `name`; an unknown name is a SourceFlagError that lists the valid ones. */
export function findSource(value: string, sources: readonly SourceEntry[] = SOURCES): SourceEntry | undefined {
  const { name, argument } = splitChoice(value);
  const entry = sources.find((s) => s.name === name);
  if (value !== AUTO && !entry) {
    throw new SourceFlagError(`--source must be one of ${sourceChoices(sources).join(', ')} (got "${value}")`);
  }
  if (entry && Boolean(entry.argument) !== (argument !== undefined)) {
    throw new SourceFlagError(entry.argument ? `--source ${name} needs ${entry.argument}: --source ${choice(entry)}` : `--source ${name} takes nothing after a colon (got "${value}")`);
  }
  return entry;
}

/**
 * Opens the named source, or for `auto` the first that opens, saying in one line why the ones before it
 * could not. A bad flag value (SourceFlagError) is never skipped over.
 */
export async function openSource(
  name: string,
  context: SourceContext,
  flags: SourceFlagValues,
  sources: readonly SourceEntry[] = SOURCES,
): Promise<MouseSource> {
  const entry = findSource(name, sources);
  if (entry) return entry.open(context, flags, splitChoice(name).argument);
  const unavailable: { source: string; problem: string }[] = [];
  const reasons = () => unavailable.map(({ source, problem }) => `${source} (${problem})`);
  for (const candidate of sources.filter((s) => s.auto)) {
    try {
      const source = await candidate.open(context, flags);
      if (unavailable.length) {
        context.say(`Cannot capture with ${reasons().join(' or ')}; using the ${candidate.name} source instead.`, { event: 'source', source: candidate.name, why: 'auto', unavailable });
      }
      return source;
    } catch (error) {
      if (error instanceof SourceFlagError) throw error;
      unavailable.push({ source: candidate.name, problem: (error as Error).message.replace(`${candidate.name}: `, '') });
    }
  }
  throw new Error(`no source could open (${reasons().join('; ')})`);
}

/**
 * One runner for every mqlive command: parses flags and variables (options.ts), prints usage for --help, runs
 * the command, and maps what it throws to one line on stderr and an exit code, the same way everywhere.
 * A user's mistake is a line that says what to do, never a stack trace.
 */
import { optionLines, optionValues, readArgs, settingName, settingWith, UsageError, type OptionSpecs, type OptionValues } from './options';

/** Every exit code an mqlive command uses, in one place. */
export const EXIT = {
  ok: 0,
  /** Something failed that is not the user's doing (or not yet known to be). */
  failed: 1,
  /** A bad flag, value or word on the command line. */
  usage: 2,
  /** The publisher could not capture: no display, no permission, no device. */
  noCapture: 3,
  /** `mqlive up`: the broker, or the publisher, stopped on its own. */
  brokerDied: 11,
  publisherDied: 12,
} as const;

export { UsageError };

/** An error whose message is for the user as it is, with the exit code it ends the command with. */
export class CommandError extends Error {
  override name = 'CommandError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
  ) {
    super(message);
  }
}

export { settingName, settingWith };

/** Runs a check of a value the user gave (an id, a name): what it throws becomes a usage error (exit code 2). */
export function userValue<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export interface Command<S extends OptionSpecs = OptionSpecs> {
  /** As typed after `mqlive`: `broker`, `publisher`, `users`. */
  name: string;
  /** One line for `mqlive help`. */
  summary: string;
  /** What follows the name in the usage line, when more than `[options]` (e.g. `add NAME --role ROLE`). */
  synopsis?: string[];
  /** Lines after the options in --help. */
  notes?: string;
  options: S;
  /** Whether bare words are taken (subcommands, names); otherwise a bare word is a usage error. */
  positionals?: boolean;
  /**
   * Does the work. A long-running command returns once it is up (its listeners keep the process alive) and
   * ends the process itself on a signal. A number returned is the exit code.
   */
  run(options: OptionValues<S>, positionals: string[]): Promise<number | void>;
}

export function defineCommand<S extends OptionSpecs>(command: Command<S>): Command<S> {
  return command;
}

/** --help has no variable: MQLIVE_HELP=1 in an environment would turn every command into its help. */
const HELP = { help: { env: '', type: 'flag', help: 'print this help' } } as const satisfies OptionSpecs;

export function usageOf(command: Command<OptionSpecs>, program = 'mqlive'): string {
  const synopsis = command.synopsis ?? ['[options]'];
  const lines = synopsis.map((s, i) => `${i === 0 ? 'usage:' : '      '} ${program} ${command.name} ${s}`);
  return [...lines, `${command.summary}`, '', 'options:', optionLines({ ...command.options, ...HELP }), ...(command.notes ? ['', command.notes] : [])].join('\n');
}

/** The message and exit code of anything a command throws. Unknown errors keep their message, not their stack. */
export function describeFailure(error: unknown): { message: string; exitCode: number } {
  if (error instanceof UsageError) return { message: error.message, exitCode: EXIT.usage };
  if (error instanceof CommandError) return { message: error.message, exitCode: error.exitCode };
  return { message: error instanceof Error ? error.message : String(error), exitCode: EXIT.failed };
}

export interface RunContext {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  program?: string;
  stdout?: (line: string) => void;
  stderr?: (line: string) => void;
}

/** Runs a command and returns its exit code (it does not exit: long-running commands stay up). */
export async function runCommand<S extends OptionSpecs>(command: Command<S>, context: RunContext = {}): Promise<number> {
  const { argv = process.argv.slice(2), env = process.env, program = 'mqlive' } = context;
  const stdout = context.stdout ?? ((line) => process.stdout.write(`${line}\n`));
  const stderr = context.stderr ?? ((line) => process.stderr.write(`${line}\n`));
  try {
    const { texts, positionals } = readArgs({ ...command.options, ...HELP }, argv, env, command.positionals ?? false);
    // --help wins over a bad value: typed options are read after it.
    if (texts.help) {
      stdout(usageOf(command as unknown as Command, program));
      return EXIT.ok;
    }
    return (await command.run(optionValues(command.options, texts, env), positionals)) ?? EXIT.ok;
  } catch (error) {
    const failure = describeFailure(error);
    stderr(`${program} ${command.name}: ${failure.message}`);
    if (env.MQLIVE_DEBUG && error instanceof Error && error.stack) stderr(error.stack);
    return failure.exitCode;
  }
}

/**
 * Reads CLI flags with an `MQLIVE_*` environment fallback for each. Pure: argv and env come in as values.
 * A flag on the command line wins over its variable.
 */

export interface OptionSpec {
  /** Environment variable that sets the same option. */
  env: string;
  /**
   * 'flag' takes no value (`--allow-anonymous`); 'string' takes one (`--port 1883` or `--port=1883`);
   * 'list' may be given several times (`--topic a --topic b`), or as a comma list in its variable.
   */
  type: 'string' | 'flag' | 'list';
  help: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export type OptionValues<S extends OptionSpecs> = {
  [K in keyof S]?: S[K]['type'] extends 'flag' ? boolean : S[K]['type'] extends 'list' ? string[] : string;
};

export interface ParsedArgs<S extends OptionSpecs> {
  options: OptionValues<S>;
  /** Bare words, in order (only when the command takes them). */
  positionals: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs<S extends OptionSpecs>(
  specs: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  allowPositionals = false,
): ParsedArgs<S> {
  const values: Record<string, string | boolean | string[]> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv === undefined || fromEnv === '') continue;
    if (spec.type === 'flag') values[name] = !/^(0|false|no|off)$/i.test(fromEnv);
    else if (spec.type === 'list') values[name] = fromEnv.split(',').map((v) => v.trim()).filter(Boolean);
    else values[name] = fromEnv;
  }
  const fromArgv = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (!allowPositionals) throw new UsageError(`unexpected argument "${arg}"`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = specs[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'flag') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      values[name] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq === -1 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (spec.type === 'list') {
      // Flags replace the variable's list rather than add to it, as a single flag replaces its variable.
      const list = fromArgv.has(name) ? (values[name] as string[]) : [];
      values[name] = [...list, value];
    } else values[name] = value;
    fromArgv.add(name);
  }
  return { options: values as OptionValues<S>, positionals };
}

/** The options alone, for commands that take no bare words. */
export function parseOptions<S extends OptionSpecs>(specs: S, argv: readonly string[], env: Readonly<Record<string, string | undefined>>): OptionValues<S> {
  return parseArgs(specs, argv, env).options;
}

/** A port from a flag or variable: 0 (an ephemeral port) to 65535. */
export function parsePort(value: string | undefined, fallback: number, flag: string, setting = `--${flag}`): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`${setting} must be a port number from 0 to 65535 (got "${value}")`);
  return port;
}

/** A whole number of at least `min` from a flag or variable; undefined when not given. */
export function parseWholeNumber(value: string | undefined, flag: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be a whole number of at least ${min} (got "${value}")`);
  return n;
}

export function optionLines(specs: OptionSpecs): string {
  return Object.entries(specs)
    .map(([name, spec]) => {
      const flag = spec.type === 'flag' ? `--${name}` : `--${name} VALUE`;
      return `  ${flag.padEnd(30)} ${spec.help}${spec.type === 'list' ? ' (repeatable)' : ''}${spec.env ? ` (env ${spec.env})` : ''}`;
    })
    .join('\n');
}

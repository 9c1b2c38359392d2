/**
 * Reads CLI flags with an `MQLIVE_*` environment fallback for each, for the Node CLIs (broker, publisher).
 * Pure: it takes argv and env as values, so this stays free of Node-only imports like the rest of protocol/.
 */

export interface OptionSpec {
  /** Environment variable that sets the same option (a flag given on the command line wins). */
  env: string;
  /** 'flag' takes no value (`--allow-anonymous`); 'string' takes one (`--port 1883` or `--port=1883`). */
  type: 'string' | 'flag';
  help: string;
}

export type OptionValues<S extends Record<string, OptionSpec>> = {
  [K in keyof S]?: S[K]['type'] extends 'flag' ? boolean : string;
};

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions<S extends Record<string, OptionSpec>>(
  specs: S,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): OptionValues<S> {
  const values: Record<string, string | boolean> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = env[spec.env];
    if (fromEnv === undefined || fromEnv === '') continue;
    values[name] = spec.type === 'flag' ? !/^(0|false|no|off)$/i.test(fromEnv) : fromEnv;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
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
    values[name] = value;
  }
  return values as OptionValues<S>;
}

/** A port from a flag or variable: 0 (an ephemeral port) to 65535. */
export function parsePort(value: string | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new UsageError(`--${flag} must be a port number from 0 to 65535 (got "${value}")`);
  return port;
}

export function usage(command: string, specs: Record<string, OptionSpec>): string {
  const lines = Object.entries(specs).map(([name, spec]) => {
    const flag = spec.type === 'flag' ? `--${name}` : `--${name} VALUE`;
    return `  ${flag.padEnd(28)} ${spec.help} (env ${spec.env})`;
  });
  return `usage: ${command} [options]\n${lines.join('\n')}`;
}

/**
 * Reads CLI flags with an `MQLIVE_*` environment fallback for each, into the values a command runs with.
 * Pure: argv and env come in as values. A flag on the command line wins over its variable.
 *
 * Each option is declared once: its type, variable, help and default. The command line is split into tokens by
 * Node's `util.parseArgs`; which tokens mqlive takes, its variables and its messages are this module's. A typed
 * option (a port, a whole number, a word from a list: see the builders below) has its text turned into its value
 * here, once, so a command's run() gets numbers and ports, and a bad value is one usage line naming the setting.
 */
import { parseArgs as tokenize } from 'node:util';

export type Env = Readonly<Record<string, string | undefined>>;

export interface OptionSpec<T = unknown> {
  /** Environment variable that sets the same option ('' for none). */
  env: string;
  /**
   * 'flag' takes no value (`--allow-anonymous`); 'string' takes one (`--port 1883` or `--port=1883`);
   * 'list' may be given several times (`--topic a --topic b`), or as a comma list in its variable.
   */
  type: 'string' | 'flag' | 'list';
  help: string;
  /**
   * For a 'string': turns the text given into the value run() gets, or throws a UsageError that names `setting`
   * (`--mqtt-port`, or under make `MQTT_PORT`). Without it the value is the text.
   */
  parse?: (text: string, setting: string) => T;
  /** The value when neither the flag nor its variable is given (say it in `help` too). */
  default?: T;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** The value run() gets for one option. */
export type OptionValue<O> = O extends { parse: (text: string, setting: string) => infer T }
  ? T
  : O extends { type: 'flag' }
    ? boolean
    : O extends { type: 'list' }
      ? string[]
      : string;

/** The options that always have a value: those with a default. */
type WithDefault<S> = { [K in keyof S]: S[K] extends { default: unknown } ? K : never }[keyof S];

export type OptionValues<S extends OptionSpecs> = { [K in WithDefault<S>]: OptionValue<S[K]> } & {
  [K in Exclude<keyof S, WithDefault<S>>]?: OptionValue<S[K]>;
};

/** What the command line and the variables said, before typed options are read: text, true/false, lists. */
export type OptionTexts = Record<string, string | boolean | string[]>;

export interface ParsedArgs<S extends OptionSpecs> {
  options: OptionValues<S>;
  /** Bare words, in order (only when the command takes them). */
  positionals: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** `make` runs commands with MQLIVE_VIA_MAKE=1, so that a message names the make variable the user typed. */
const MAKE_VARIABLES: Record<string, string> = { 'mqtt-port': 'MQTT_PORT', 'http-port': 'HTTP_PORT', host: 'HOST', device: 'DEVICE', source: 'SOURCE', url: 'MQTT_URL' };

/** What the user calls an option, for messages: `--mqtt-port`, or under make `MQTT_PORT`. */
export function settingName(flag: string, env: Env = process.env): string {
  const variable = MAKE_VARIABLES[flag];
  return env.MQLIVE_VIA_MAKE === '1' && variable ? variable : `--${flag}`;
}

/** How the user sets an option to a value, for messages: `--mqtt-port 1884`, or under make `MQTT_PORT=1884`. */
export function settingWith(flag: string, value: string | number, env: Env = process.env): string {
  const name = settingName(flag, env);
  return name.startsWith('--') ? `${name} ${value}` : `${name}=${value}`;
}

/**
 * The texts of the options given, variables first and flags over them, and the bare words. Refuses an unknown
 * option, a missing value, a value given to a flag, and a bare word when the command takes none.
 */
export function readArgs(specs: OptionSpecs, argv: readonly string[], env: Env, allowPositionals = false): { texts: OptionTexts; positionals: string[] } {
  const texts: OptionTexts = {};
  for (const [name, spec] of Object.entries(specs)) {
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (fromEnv === undefined || fromEnv === '') continue;
    if (spec.type === 'flag') texts[name] = !/^(0|false|no|off)$/i.test(fromEnv);
    else if (spec.type === 'list') texts[name] = fromEnv.split(',').map((v) => v.trim()).filter(Boolean);
    else texts[name] = fromEnv;
  }
  const positionals: string[] = [];
  const positional = (word: string) => {
    if (!allowPositionals) throw new UsageError(`unexpected argument "${word}"`);
    positionals.push(word);
  };
  // Not strict: unknown options, missing values and values that look like flags come back as tokens, and are
  // said here in mqlive's words. Only `--name` is an option: `-x` is a bare word, as it always was.
  const { tokens } = tokenize({
    args: [...argv],
    options: Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.type === 'flag' ? 'boolean' : 'string' }])),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const fromArgv = new Set<string>();
  let lastShort = -1;
  for (const token of tokens) {
    if (token.kind === 'positional') positional(token.value);
    else if (token.kind === 'option-terminator') throw new UsageError('unknown option --');
    else if (!token.rawName.startsWith('--')) {
      // `-abc` comes as one token per letter, all at the same index: one bare word.
      if (token.index !== lastShort) positional(argv[token.index]!);
      lastShort = token.index;
    } else {
      const name = token.name;
      const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (spec.type === 'flag') {
        if (token.inlineValue) throw new UsageError(`--${name} takes no value`);
        texts[name] = true;
        continue;
      }
      const value = token.value;
      if (value === undefined || (!token.inlineValue && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
      if (spec.type === 'list') {
        // Flags replace the variable's list rather than add to it, as a single flag replaces its variable.
        const list = fromArgv.has(name) ? (texts[name] as string[]) : [];
        texts[name] = [...list, value];
      } else texts[name] = value;
      fromArgv.add(name);
    }
  }
  return { texts, positionals };
}

/** The values run() gets: each typed option's text read (in the order declared), defaults filled in. */
export function optionValues<S extends OptionSpecs>(specs: S, texts: OptionTexts, env: Env): OptionValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const text = texts[name];
    if (text === undefined) {
      if (spec.default !== undefined) values[name] = spec.default;
    } else values[name] = spec.parse && typeof text === 'string' ? spec.parse(text, settingName(name, env)) : text;
  }
  return values as OptionValues<S>;
}

export function parseArgs<S extends OptionSpecs>(specs: S, argv: readonly string[], env: Env, allowPositionals = false): ParsedArgs<S> {
  const { texts, positionals } = readArgs(specs, argv, env, allowPositionals);
  return { options: optionValues(specs, texts, env), positionals };
}

/** The options alone, for commands that take no bare words. */
export function parseOptions<S extends OptionSpecs>(specs: S, argv: readonly string[], env: Env): OptionValues<S> {
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
export function parseWholeNumber(value: string | undefined, flag: string, min = 1, setting = `--${flag}`): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`${setting} must be a whole number of at least ${min} (got "${value}")`);
  return n;
}

// Builders of typed options: `port({ env, help, default })` is a 'string' option whose value is a number.
// The spec keeps what it is given (its default included), so OptionValues knows which values are always there.

interface Declared<T> {
  env: string;
  help: string;
  default?: T;
}

/** A port: 0 (any free port) to 65535. */
export function portOption<D extends Declared<number>>(declared: D) {
  return { ...declared, type: 'string' as const, parse: (text: string, setting: string): number => parsePort(text, 0, '', setting) };
}

/** A whole number of at least `min` (1 unless said). */
export function wholeNumberOption<D extends Declared<number>>(declared: D, min = 1) {
  return { ...declared, type: 'string' as const, parse: (text: string, setting: string): number => parseWholeNumber(text, '', min, setting)! };
}

/** A number (fractions too) above 0, or from 0 with `allowZero`. */
export function numberOption<D extends Declared<number>>(declared: D, { allowZero = false } = {}) {
  return { ...declared, type: 'string' as const, parse: (text: string, setting: string): number => parseNumber(text, setting, allowZero) };
}

/** One of a few words: `--log-format auto|pretty|json`. */
export function choiceOption<const C extends readonly string[], D extends Declared<C[number]>>(choices: C, declared: D) {
  return { ...declared, type: 'string' as const, parse: (text: string, setting: string): C[number] => parseChoice(text, choices, setting) };
}

export function parseNumber(text: string, setting: string, allowZero: boolean): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new UsageError(`${setting} must be a number ${allowZero ? '>= 0' : '> 0'} (got "${text}")`);
  }
  return n;
}

export function parseChoice<C extends string>(text: string, choices: readonly C[], setting: string): C {
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`${setting} must be one of ${choices.join(', ')} (got "${text}")`);
  return text as C;
}

export function optionLines(specs: OptionSpecs): string {
  return Object.entries(specs)
    .map(([name, spec]) => {
      const flag = spec.type === 'flag' ? `--${name}` : `--${name} VALUE`;
      return `  ${flag.padEnd(30)} ${spec.help}${spec.type === 'list' ? ' (repeatable)' : ''}${spec.env ? ` (env ${spec.env})` : ''}`;
    })
    .join('\n');
}

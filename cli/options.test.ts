import { describe, expect, it } from 'vitest';
import { choiceOption, numberOption, parseArgs, parseOptions, parsePort, portOption, UsageError, wholeNumberOption, type OptionSpec, type OptionSpecs } from './options';

const specs = {
  host: { env: 'T_HOST', type: 'string', help: 'h' },
  'mqtt-port': { env: 'T_PORT', type: 'string', help: 'p' },
  verbose: { env: 'T_VERBOSE', type: 'flag', help: 'v' },
} satisfies Record<string, OptionSpec>;

describe('parseOptions', () => {
  it('reads flags in both forms, and flags win over the environment', () => {
    expect(parseOptions(specs, ['--host', 'a', '--mqtt-port=0', '--verbose'], { T_HOST: 'b' })).toEqual({
      host: 'a',
      'mqtt-port': '0',
      verbose: true,
    });
    expect(parseOptions(specs, [], { T_HOST: 'b', T_VERBOSE: 'false' })).toEqual({ host: 'b', verbose: false });
  });

  it('refuses unknown options, missing values and stray words', () => {
    expect(() => parseOptions(specs, ['--nope'], {})).toThrow(/unknown option --nope/);
    expect(() => parseOptions(specs, ['--host'], {})).toThrow(/--host needs a value/);
    expect(() => parseOptions(specs, ['--host', '--verbose'], {})).toThrow(/--host needs a value/);
    expect(() => parseOptions(specs, ['host'], {})).toThrow(UsageError);
    expect(() => parseOptions(specs, ['--verbose=1'], {})).toThrow(/takes no value/);
  });
});

describe('parsePort', () => {
  it('takes 0 to 65535', () => {
    expect(parsePort(undefined, 1883, 'p')).toBe(1883);
    expect(parsePort('0', 1883, 'p')).toBe(0);
    expect(parsePort('65535', 1883, 'p')).toBe(65535);
    expect(() => parsePort('65536', 1, 'mqtt-port')).toThrow(/--mqtt-port must be a port number/);
    expect(() => parsePort('-1', 1, 'p')).toThrow(UsageError);
    expect(() => parsePort('80x', 1, 'p')).toThrow(UsageError);
  });
});

describe('typed options', () => {
  const typed = {
    port: portOption({ env: 'T_PORT', help: 'p (default 1883)', default: 1883 }),
    'http-port': portOption({ env: 'T_HTTP', help: 'h' }),
    count: wholeNumberOption({ env: 'T_COUNT', help: 'c' }),
    fd: wholeNumberOption({ env: 'T_FD', help: 'f' }, 0),
    speed: numberOption({ env: 'T_SPEED', help: 's (default 1)', default: 1 }, { allowZero: true }),
    seconds: numberOption({ env: 'T_SECONDS', help: 's' }),
    format: choiceOption(['auto', 'json'], { env: 'T_FORMAT', help: 'f (default auto)', default: 'auto' }),
  } satisfies OptionSpecs;

  it('gives run() numbers and words, and the defaults when nothing is given', () => {
    const values = parseOptions(typed, ['--port', '0', '--count=7', '--fd', '3', '--speed', '0.5', '--format', 'json'], { T_SECONDS: '2.5' });
    expect(values).toEqual({ port: 0, count: 7, fd: 3, speed: 0.5, seconds: 2.5, format: 'json' });
    const defaults = parseOptions(typed, [], {});
    expect(defaults).toEqual({ port: 1883, speed: 1, format: 'auto' });
    // Typed: a port is a number, a choice one of its words (tsc checks these lines).
    const port: number = defaults.port;
    const format: 'auto' | 'json' = defaults.format;
    expect([port, format]).toEqual([1883, 'auto']);
  });

  it('says a bad value of each type in one line naming the flag, from the command line or the variable', () => {
    const cases: [string[], Record<string, string>, string][] = [
      [['--port', '65536'], {}, '--port must be a port number from 0 to 65535 (got "65536")'],
      [['--port=-1'], {}, '--port must be a port number from 0 to 65535 (got "-1")'],
      [[], { T_PORT: 'abc' }, '--port must be a port number from 0 to 65535 (got "abc")'],
      [['--count', 'abc'], {}, '--count must be a whole number of at least 1 (got "abc")'],
      [['--count', '0'], {}, '--count must be a whole number of at least 1 (got "0")'],
      [['--count', '1.5'], {}, '--count must be a whole number of at least 1 (got "1.5")'],
      [['--fd', '-1'], {}, '--fd must be a whole number of at least 0 (got "-1")'],
      [['--speed', '-1'], {}, '--speed must be a number >= 0 (got "-1")'],
      [['--seconds', '0'], {}, '--seconds must be a number > 0 (got "0")'],
      [['--seconds', 'x'], {}, '--seconds must be a number > 0 (got "x")'],
      [['--format', 'xml'], {}, '--format must be one of auto, json (got "xml")'],
      [[], { T_FORMAT: 'xml' }, '--format must be one of auto, json (got "xml")'],
    ];
    for (const [argv, env, line] of cases) {
      expect(() => parseOptions(typed, argv, env), `${argv.join(' ')} ${JSON.stringify(env)}`).toThrow(new UsageError(line));
    }
  });

  it('under make names the make variable the user typed', () => {
    expect(() => parseOptions(typed, ['--http-port', '70000'], { MQLIVE_VIA_MAKE: '1' })).toThrow(new UsageError('HTTP_PORT must be a port number from 0 to 65535 (got "70000")'));
    expect(() => parseOptions(typed, ['--count', '0'], { MQLIVE_VIA_MAKE: '1' })).toThrow(new UsageError('--count must be a whole number of at least 1 (got "0")'));
  });
});

describe('readArgs', () => {
  it('takes only --name as an option: -x and -abc are bare words, -- is refused as before', () => {
    expect(parseArgs(specs, ['-x', '-abc', '-', '--host', '-1'], {}, true)).toEqual({ options: { host: '-1' }, positionals: ['-x', '-abc', '-'] });
    expect(() => parseOptions(specs, ['-x'], {})).toThrow(new UsageError('unexpected argument "-x"'));
    expect(() => parseOptions(specs, ['--', '--host', 'a'], {})).toThrow(new UsageError('unknown option --'));
  });

  it('refuses the names every object has (--constructor, --__proto__) as unknown options', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(() => parseOptions(specs, [`--${name}`, 'x'], {}), name).toThrow(new UsageError(`unknown option --${name}`));
    }
  });
});

import { describe, expect, it } from 'vitest';
import { parseOptions, parsePort, UsageError, type OptionSpec } from './options';

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

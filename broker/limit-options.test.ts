import { describe, expect, it } from 'vitest';
import { runCommand, usageOf, type Command } from '../cli/command';
import { parseOptions } from '../cli/options';
import { brokerCommand } from './cli';
import { DEFAULT_LIMITS, LIMIT_FLAGS, limitsFromFlags, type LimitFlagName } from './security/limits';

/** Runs `mqlive broker` in this process up to where it would start: every case here stops at its options. */
async function broker(argv: string[], env: Record<string, string> = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCommand(brokerCommand, { argv, env, stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
  return { code, stdout, stderr };
}

const help = usageOf(brokerCommand as unknown as Command);
const flags = Object.keys(LIMIT_FLAGS) as LimitFlagName[];

describe('limit flags, each declared once (LIMIT_FLAGS)', () => {
  it('each reaches the options, the help with its variable and default, and the limit it names', () => {
    for (const flag of flags) {
      const { limit } = LIMIT_FLAGS[flag];
      const variable = `MQLIVE_${flag.toUpperCase().replaceAll('-', '_')}`;
      const line = help.split('\n').find((l) => l.startsWith(`  --${flag} VALUE `));
      expect(line, flag).toMatch(new RegExp(`default ${DEFAULT_LIMITS[limit]}\\) \\(env ${variable}\\)$`));
      const fromFlag = limitsFromFlags(parseOptions(brokerCommand.options, [`--${flag}`, '7'], {}));
      const fromVariable = limitsFromFlags(parseOptions(brokerCommand.options, [], { [variable]: '7' }));
      expect(fromFlag, flag).toEqual({ [limit]: 7, ...(flag === 'max-publish-rate' && { publishBurst: 14 }) });
      expect(fromVariable, flag).toEqual(fromFlag);
    }
  });

  it('sets each limit from one flag, and nothing a flag was not given for', () => {
    const limits = flags.map((flag) => LIMIT_FLAGS[flag].limit);
    expect(new Set(limits).size).toBe(limits.length);
    expect(limitsFromFlags(parseOptions(brokerCommand.options, [], {}))).toEqual({});
  });

  it('says a bad value of any of them in one line, exit code 2, before anything starts', async () => {
    for (const flag of flags) {
      for (const bad of ['abc', '0', '1.5', '-3', '']) {
        const result = await broker([`--${flag}=${bad}`]);
        expect(result.code, `${flag} ${bad}`).toBe(2);
        expect(result.stderr, `${flag} ${bad}`).toEqual([`mqlive broker: --${flag} must be a whole number of at least 1 (got "${bad}")`]);
      }
    }
  });
});

describe('mqlive broker options', () => {
  it('refuses a bad value before anything starts, whatever other flags it goes with', async () => {
    const cases: [string[], Record<string, string>, string][] = [
      // Without --tls-cert the port was not read, and a broker started on a typo.
      [['--mqtts-port', 'x', '--mqtt-port', '0', '--http-port', '0'], {}, 'mqlive broker: --mqtts-port must be a port number from 0 to 65535 (got "x")'],
      // Was read only once the broker was up: Number("abc") reached writeSync.
      [['--ready-fd', 'abc', '--mqtt-port', '0', '--http-port', '0'], {}, 'mqlive broker: --ready-fd must be a whole number of at least 0 (got "abc")'],
      [['--log-format', 'xml'], {}, 'mqlive broker: --log-format must be one of auto, pretty, json (got "xml")'],
      [['--mqtt-port', '70000'], { MQLIVE_VIA_MAKE: '1' }, 'mqlive broker: MQTT_PORT must be a port number from 0 to 65535 (got "70000")'],
      [[], { MQLIVE_HTTP_PORT: '8o8o' }, 'mqlive broker: --http-port must be a port number from 0 to 65535 (got "8o8o")'],
    ];
    for (const [argv, env, line] of cases) {
      const result = await broker(argv, env);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toEqual([line]);
    }
  });

  it('prints its help even with a bad value beside --help', async () => {
    const result = await broker(['--max-packet-bytes', 'abc', '--mqtt-port', 'x', '--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toEqual([]);
    expect(result.stdout).toEqual([help]);
  });
});

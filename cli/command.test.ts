import { describe, expect, it } from 'vitest';
import { CommandError, defineCommand, EXIT, runCommand, settingWith, UsageError, userValue } from './command';

const echo = defineCommand({
  name: 'echo',
  summary: 'says what it is given',
  options: { word: { env: 'T_WORD', type: 'string', help: 'the word' }, topic: { env: 'T_TOPIC', type: 'list', help: 'a topic' } },
  async run(options) {
    if (options.word === 'usage') throw new UsageError('--word must not be usage');
    if (options.word === 'capture') throw new CommandError('no display', EXIT.noCapture);
    if (options.word === 'bug') throw new TypeError('x is undefined');
    if (options.word === 'id') userValue(() => { throw new Error('invalid device id "a/b"'); });
    out.push(`${options.word ?? ''} ${(options.topic ?? []).join(',')}`);
  },
});
let out: string[] = [];

async function run(argv: string[], env: Record<string, string> = {}) {
  out = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runCommand(echo, { argv, env, stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
  return { code, stdout, stderr };
}

describe('runCommand', () => {
  it('runs with flags, variables and repeatable lists', async () => {
    expect((await run(['--word', 'hi', '--topic', 'a', '--topic=b'])).code).toBe(0);
    expect(out).toEqual(['hi a,b']);
    await run([], { T_WORD: 'env', T_TOPIC: 'x, y' });
    expect(out).toEqual(['env x,y']);
    await run(['--topic', 'z'], { T_TOPIC: 'x,y' });
    expect(out).toEqual([' z']);
  });

  it('maps every failure to one line on stderr and its exit code, never a stack', async () => {
    const cases: [string[], number, string][] = [
      [['--nope'], EXIT.usage, 'mqlive echo: unknown option --nope'],
      [['stray'], EXIT.usage, 'mqlive echo: unexpected argument "stray"'],
      [['--word', 'usage'], EXIT.usage, 'mqlive echo: --word must not be usage'],
      [['--word', 'id'], EXIT.usage, 'mqlive echo: invalid device id "a/b"'],
      [['--word', 'capture'], EXIT.noCapture, 'mqlive echo: no display'],
      [['--word', 'bug'], EXIT.failed, 'mqlive echo: x is undefined'],
    ];
    for (const [argv, code, line] of cases) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(code);
      expect(result.stderr, argv.join(' ')).toEqual([line]);
    }
  });

  it('prints usage with every option and its variable for --help', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout[0]).toMatch(/^usage: mqlive echo \[options\]\nsays what it is given/);
    expect(stdout[0]).toMatch(/--word VALUE +the word \(env T_WORD\)/);
    expect(stdout[0]).toMatch(/--topic VALUE +a topic \(repeatable\) \(env T_TOPIC\)/);
    expect(stdout[0]).toMatch(/--help +print this help/);
  });
});

describe('settingWith', () => {
  it('names the flag, or under make the make variable', () => {
    expect(settingWith('mqtt-port', 1884, {})).toBe('--mqtt-port 1884');
    expect(settingWith('mqtt-port', 1884, { MQLIVE_VIA_MAKE: '1' })).toBe('MQTT_PORT=1884');
    expect(settingWith('redis', 'URL', { MQLIVE_VIA_MAKE: '1' })).toBe('--redis URL');
  });
});

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { startTestBroker } from '../test-support/broker';
import { ROOT } from '../test-support/processes';

// Issue 29, item 11: the small things a new user meets first at the command line, against the compiled mqlive.
const mqlive = (...args: string[]) => spawnSync(process.execPath, ['dist/mqlive.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });

describe('the mqlive command line', () => {
  it('with no command prints the usage on stderr and exits 2', () => {
    const run = mqlive();
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^usage: mqlive COMMAND \[options\]/);
  });

  it('--help lists flags with their variables, but not a variable for --help itself', () => {
    for (const command of ['up', 'broker', 'publisher', 'users', 'record', 'replay']) {
      const help = mqlive('help', command).stdout;
      expect(help, command).toMatch(/--help\s+print this help\n/);
      expect(help, command).not.toContain('MQLIVE_HELP');
    }
  });

  it("help up shows each flag's default, and help broker names the users command as a package user types it", () => {
    const up = mqlive('help', 'up').stdout;
    for (const line of ['--host', '--mqtt-port', '--http-port', '--device', '--source']) expect(up.split('\n').find((l) => l.includes(line)), line).toMatch(/default/);
    const broker = mqlive('help', 'broker').stdout;
    expect(broker).toContain('users file (mqlive users)');
    expect(broker).not.toContain('npm run users');
  });

  it('record and replay take --ca, as the publisher does', () => {
    for (const command of ['record', 'replay']) expect(mqlive('help', command).stdout, command).toMatch(/--ca VALUE\s+PEM certificate to trust/);
    const missing = mqlive('replay', '--in', 'nothere.jsonl');
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toBe('mqlive replay: cannot read --in nothere.jsonl: no such file');
  });

  it('a publisher whose output is cut short (| head -3) ends without a stack trace', { timeout: 60_000 }, async () => {
    const env = await startTestBroker();
    try {
      // Its next line (the 10 s summary) finds the pipe closed: it stops as on SIGTERM.
      const run = spawnSync('bash', ['-c', `node dist/mqlive.js publisher --url ${env.broker.mqttUrl} --device piped --source demo --protocol 3.1.1 | head -3`], { cwd: ROOT, encoding: 'utf8', timeout: 40_000 });
      expect(run.signal).toBeNull(); // ended by itself, not by the timeout
      expect(run.stdout.trim().split('\n')).toHaveLength(3);
      expect(run.stderr).not.toMatch(/EPIPE|at .*\.js:\d+/);
    } finally {
      await env.close();
    }
  });
});

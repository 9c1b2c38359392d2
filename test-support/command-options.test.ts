import { describe, expect, it } from 'vitest';
import type { Command } from '../cli/command';
import { brokerCommand } from '../broker/cli';
import { dataCommand } from '../broker/data-cli';
import { usersCommand } from '../broker/users-cli';
import { publisherCommand } from '../publisher/cli';
import { recordCommand } from '../recorder/record';
import { replayCommand } from '../recorder/replay';
import { upCommand } from '../scripts/up';

// Every command's option table, checked together: what run() falls back to is what --help says.
const COMMANDS = [upCommand, brokerCommand, publisherCommand, usersCommand, recordCommand, replayCommand, dataCommand] as unknown as Command[];

describe("every command's options", () => {
  it('say their default in their help (a number or a word; a folder is said as the user knows it)', () => {
    let checked = 0;
    for (const command of COMMANDS) {
      for (const [name, spec] of Object.entries(command.options)) {
        const value = spec.default;
        if (typeof value === 'boolean' || (typeof value === 'string' && value.includes('/'))) continue;
        if (value === undefined) continue;
        expect(spec.help, `mqlive ${command.name} --${name}`).toContain(String(value));
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it('have a variable of their own MQLIVE_ name, or none', () => {
    for (const command of COMMANDS) {
      for (const [name, spec] of Object.entries(command.options)) {
        if (spec.env) expect(spec.env, `mqlive ${command.name} --${name}`).toMatch(/^MQLIVE_[A-Z0-9_]+$/);
      }
    }
  });
});

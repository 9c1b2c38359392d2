import { beforeAll, describe, expect, it } from 'vitest';
import type { UsersFile } from './security/users';
import { type TestBroker, startTestBrokerFor, type TestBrokerOptions } from '../test-support/broker';
import { connect } from '../test-support/mqtt';
import { makeUsers } from '../test-support/security';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 14, findings 4 and 5, replayed: the failed-login lockout raced, and it locked out bystanders.
let users: UsersFile;
let env: TestBroker;
const teardown = teardownAfterEach();
beforeAll(async () => {
  users = (await makeUsers({ alice: 'viewer', bob: 'viewer', root: 'admin' })).data;
});

async function start(options: TestBrokerOptions = {}) {
  env = await startTestBrokerFor(teardown, { users, ...options });
  return env;
}

/** The CONNACK code a login gets (0: accepted). */
async function loginCode(transport: 'tcp' | 'ws', username: string, password: string): Promise<number> {
  try {
    const client = await connect(env.url(transport), { username, password }, 20_000);
    client.end(true);
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe('finding 4: the lockout counts attempts before the password check', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`30 wrong passwords and then the right one, sent at once: the right one is refused (${transport})`, async () => {
      await start();
      const attempts = Array.from({ length: 30 }, () => loginCode(transport, 'alice', 'wrong'));
      attempts.push(loginCode(transport, 'alice', 'alice-password'));
      const codes = await Promise.all(attempts);
      expect(codes.slice(0, 30).every((c) => c === 4)).toBe(true);
      expect(codes[30]).toBe(4);
      expect(env.logs.messages().filter((m) => m.startsWith('Locked out logins as "alice"'))).toHaveLength(1);
    }, 60_000);
  }
});

describe('finding 5: the lockout does not punish bystanders', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`after 10 failures as bob, bob is locked out but other users at that address log in (${transport})`, async () => {
      await start();
      for (let i = 0; i < 10; i++) expect(await loginCode(transport, 'bob', 'wrong')).toBe(4);
      expect(await loginCode(transport, 'bob', 'bob-password')).toBe(4);
      expect(await loginCode('tcp', 'root', 'root-password')).toBe(0);
      expect(await loginCode(transport, 'alice', 'alice-password')).toBe(0);
      expect(env.logs.messages().filter((m) => m.startsWith('Locked out'))).toEqual(['Locked out logins as "bob" from 127.0.0.1 for 60 s: 10 failed logins']);
    }, 60_000);
  }

  it('an address failing across many user names reaches a higher per-address ceiling', async () => {
    await start({ limits: { maxFailedLoginsPerUser: 10, maxFailedLoginsPerAddress: 12 } });
    for (let i = 0; i < 12; i++) expect(await loginCode('tcp', `mallory${i}`, 'wrong')).toBe(4);
    expect(await loginCode('tcp', 'root', 'root-password')).toBe(4);
    expect(env.logs.messages()).toContain('Locked out logins from 127.0.0.1 for 60 s: 12 failed logins');
  }, 60_000);
});

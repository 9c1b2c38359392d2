import { describe, expect, it } from 'vitest';
import { FailedLogins } from './failed-logins';

describe('FailedLogins', () => {
  it('counts attempts as they start, per user name and per address, until the window is over', () => {
    let now = 0;
    const failed = new FailedLogins({ maxFailedLoginsPerUser: 3, maxFailedLoginsPerAddress: 5 }, 60_000, () => now);
    for (let i = 0; i < 3; i++) expect(failed.attempt('a', 'bob')).toBeNull(); // three checks in flight
    expect(failed.attempt('a', 'bob')).toEqual({ scope: 'user', failures: 3, firstTime: true });
    expect(failed.attempt('a', 'bob')?.firstTime).toBe(false); // logged once per window
    expect(failed.attempt('a', 'alice')).toBeNull(); // a bystander at the same address
    failed.succeeded('a', 'alice'); // ... whose right password does not count
    expect(failed.attempt('b', 'bob')).toBeNull(); // the same name elsewhere
    expect(failed.attempt('a', 'carol')).toBeNull();
    expect(failed.attempt('a', 'dave')).toBeNull();
    expect(failed.attempt('a', 'erin')).toEqual({ scope: 'address', failures: 5, firstTime: true });
    now += 60_001;
    expect(failed.attempt('a', 'bob')).toBeNull();
    expect(failed.size).toBe(2); // the windows that were over are forgotten
  });
});

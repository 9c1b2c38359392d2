import { describe, expect, it } from 'vitest';
import { FailedLogins, TokenBucket } from './limits';

describe('TokenBucket', () => {
  it('refills at its rate up to its burst', () => {
    let now = 0;
    const bucket = new TokenBucket(1, 2, () => now);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([true, true, false]);
    now += 1000;
    expect(bucket.take()).toBe(true);
  });
});

describe('FailedLogins', () => {
  it('locks an address out after the limit, until its window is over, and forgets old windows', () => {
    let now = 0;
    const failed = new FailedLogins(3, 60_000, () => now);
    for (let i = 0; i < 3; i++) {
      expect(failed.lockedOut('a')).toBe(false);
      failed.record('a');
    }
    expect(failed.lockedOut('a')).toBe(true);
    expect(failed.lockedOut('b')).toBe(false);
    now += 60_001;
    expect(failed.lockedOut('a')).toBe(false);
    failed.record('b');
    expect(failed.size).toBe(1);
  });
});

import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { PublishRate } from './rate';

describe('PublishRate', () => {
  it('allows the burst, then the rate, per client, on an injected clock', () => {
    let now = 0;
    const rate = new PublishRate({ publishRate: 10, publishBurst: 5 }, () => now);
    const a = {} as Client; // only a key: each client has its own bucket
    const b = {} as Client;
    for (let i = 0; i < 5; i++) expect(rate.check(a)).toBeNull();
    expect(rate.check(a)).toMatchObject({ reason: 'rate_limited', disconnect: true, why: 'more than 10 publishes a second' });
    expect(rate.check(b)).toBeNull();
    now += 100; // one token back at 10 a second
    expect(rate.check(a)).toBeNull();
    expect(rate.check(a)).not.toBeNull();
  });
});

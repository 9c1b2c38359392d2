import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import { describe, expect } from 'vitest';
import { fuzz } from '../test-support/fuzz';
import { checkFromChannel, checkStored, checkSubscription } from './redis-records';
import { DEFAULT_LIMITS } from './security/limits';

// Fuzz target: what an instance reads from Redis (the pub/sub channel and stored records) is checked, and a
// check never throws, whatever was decoded: any value, and whatever msgpack makes of any bytes.
const limits = DEFAULT_LIMITS;

describe('records read from Redis (fuzz)', () => {
  fuzz('any decoded value on any channel', fc.tuple(fc.anything({ withBoxedValues: true, withNullPrototype: true, withTypedArray: true }), fc.string()), ([value, channel]) => {
    const checked = checkFromChannel(value, channel, limits);
    expect('ok' in checked || 'problem' in checked).toBe(true);
  }, 500);

  fuzz('any bytes through msgpack, as a message, a will and a subscription', fc.uint8Array({ maxLength: 64 }), (bytes) => {
    let value: unknown;
    try {
      value = msgpack.decode(Buffer.from(bytes));
    } catch {
      return;
    }
    checkFromChannel(value, 'free/x', limits);
    checkStored(value, 'will', limits);
    checkSubscription(value, 'free/#', limits);
  }, 2000);
});

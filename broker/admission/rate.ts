import type { Client } from 'aedes';
import type { Limits } from '../security/limits';
import { TokenBucket } from '../security/token-bucket';
import type { Refusal } from './refusal';

/** Each client's publish rate, one token bucket per client; past it, the client is disconnected. */
export class PublishRate {
  private readonly buckets = new WeakMap<Client, TokenBucket>();

  constructor(
    private readonly limits: Pick<Limits, 'publishRate' | 'publishBurst'>,
    private readonly now: () => number = Date.now,
  ) {}

  check(client: Client): Refusal | null {
    let bucket = this.buckets.get(client);
    if (!bucket) this.buckets.set(client, (bucket = new TokenBucket(this.limits.publishRate, this.limits.publishBurst, this.now)));
    if (bucket.take()) return null;
    return { reason: 'rate_limited', why: `more than ${this.limits.publishRate} publishes a second`, disconnect: true };
  }
}

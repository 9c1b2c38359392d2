import type { Client } from 'aedes';
import type { Identity, Rights } from '../security/rights';
import type { Refusal } from './refusal';

/**
 * Whether the client's identity may publish on the topic (security/rights.ts). A refused publish is dropped.
 * MQTT 3.1.1 cannot tell the client, so the `maxRefused`-th refusal disconnects it; unless the client listens
 * to its refusal notices (refusal-notice.ts): it is told each time, and a tool (the viewer's Publish panel)
 * stays connected after a person's mistakes. The publish rate limit still bounds it.
 */
export class PublishRights {
  private readonly refusals = new WeakMap<Client, number>();

  constructor(
    private readonly rights: Rights,
    private readonly maxRefused: number,
    private readonly isTold: (client: Client) => boolean = () => false,
  ) {}

  check(client: Client, identity: Identity | undefined, topic: string): Refusal | null {
    if (identity && this.rights.canPublish(identity, topic)) return null;
    const count = (this.refusals.get(client) ?? 0) + 1;
    this.refusals.set(client, count);
    return { reason: 'not_authorized', why: `${identity?.username ?? 'anonymous'} may not publish there`, disconnect: count >= this.maxRefused && !this.isTold(client) };
  }
}

import type { Aedes, Client, Subscription } from 'aedes';
import { requireInternal } from '../library-internals';
import type { Limits } from '../security/limits';
import type { Identity, Rights } from '../security/rights';
import { BROKER_TOPICS, RefusalNotices } from './refusal-notice';
import { SubscriptionCap } from './subscriptions';
import { topicShapeProblem } from './topic-shape';

/** Why a filter was refused: `why` for the log (null: the rights said no), `overCap` when the cap did. */
export interface SubscribeRefusal {
  why: string | null;
  overCap: boolean;
}

type AddSubscriptions = (client: Client, subs: Subscription[]) => Promise<void>;

/**
 * Decides each filter of a SUBSCRIBE once: topic shape, then rights (under $mqlive/ a client may read its own
 * refusal notices and nothing else, whatever its role or the ACL), then the subscription cap.
 *
 * Aedes 1.x stores a persistent session's whole SUBSCRIBE list as soon as one filter in it is granted, before it
 * has asked about the rest, so a refused `#` came back at the next reconnect and queued messages through it
 * meanwhile. `keepOnlyGranted` puts a filter on the persistence in front: it stores only the filters this
 * admission grants. A decision is kept per subscription object, so the cap counts each filter once whichever of
 * the two asks first, in the order of the packet.
 */
export class SubscribeAdmission {
  private readonly decided = new WeakMap<Subscription, SubscribeRefusal | null>();
  private readonly cap: SubscriptionCap;

  constructor(
    private readonly limits: Limits,
    private readonly rights: Rights,
    private readonly identityOf: (client: Client) => Identity | undefined,
  ) {
    this.cap = new SubscriptionCap(limits.maxSubscriptionsPerClient);
  }

  /** Null when `client` may hold `sub`, else why not. */
  decide(client: Client, sub: Subscription): SubscribeRefusal | null {
    if (this.decided.has(sub)) return this.decided.get(sub)!;
    const verdict = this.decideNow(client, sub.topic);
    this.decided.set(sub, verdict);
    return verdict;
  }

  forget(client: Client, filters: string[]): void {
    this.cap.forget(client, filters);
  }

  /** Wraps Aedes's persistence so a persistent session keeps only the filters granted to it. */
  keepOnlyGranted(aedes: Aedes): void {
    const persistence = (aedes as unknown as { persistence: { addSubscriptions: AddSubscriptions } }).persistence;
    requireInternal(typeof persistence?.addSubscriptions === 'function', 'aedes', 'Aedes#persistence.addSubscriptions');
    const add = persistence.addSubscriptions.bind(persistence);
    // Aedes stores the list once for each granted filter in it: once is enough.
    const stored = new WeakSet<Subscription[]>();
    persistence.addSubscriptions = (client, subs) => {
      if (stored.has(subs)) return Promise.resolve();
      stored.add(subs);
      const granted = subs.filter((sub) => this.decide(client, sub) === null);
      return granted.length > 0 ? add(client, granted) : Promise.resolve();
    };
  }

  private decideNow(client: Client, filter: string): SubscribeRefusal | null {
    const problem = topicShapeProblem(filter, this.limits);
    if (problem) return { why: problem, overCap: false };
    const identity = this.identityOf(client);
    const allowed = filter.startsWith(BROKER_TOPICS) ? RefusalNotices.maySubscribe(client.id, filter) : !!identity && this.rights.canSubscribe(identity, filter);
    if (!identity || !allowed) return { why: null, overCap: false };
    const overCap = this.cap.admit(client, filter);
    return overCap ? { why: overCap, overCap: true } : null;
  }
}

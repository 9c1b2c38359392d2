import { Aedes, type Client } from 'aedes';
import { PublishAdmission } from './admission/publish';
import { DropAfterAck } from './admission/drop-after-ack';
import { refuseMqtt5Publish } from './admission/mqtt5-refusal';
import { keepForwardedProperties } from './admission/publish-properties';
import { BROKER_TOPICS, RefusalNotices } from './admission/refusal-notice';
import { SubscribeAdmission } from './admission/subscribe-admission';
import { AwaitingPubrelCap } from './caps/awaiting-pubrel';
import { QueuedCap } from './caps/queued';
import { RetainedCap } from './caps/retained';
import { SessionCap } from './caps/sessions';
import { clearSkippedDeliveriesAlone, clearTimersOfClientsBackElsewhere, resumeSessionsEndingWithTheirConnection, tolerateDuplicatePubrel, useNullPrototypeBrokerTables } from './aedes-beta-fixes';
import { Authentication, type LoginPolicy } from './authentication';
import { Cluster, type ClusterLink } from './cluster/cluster';
import { logAndCountEvents } from './events';
import { fitsClient } from './client-packet-size';
import { tellKeepAliveTimeouts } from './mqtt5-disconnect';
import { guardHooks } from './hook-guard';
import { SubscriptionOrder } from './inbound-tap';
import { OutagePersistence } from './outage-persistence';
import { serveThroughOutages } from './outage-admission';
import { SharedSubscriptions } from './shared-subscriptions';
import { retainedAtGrantedQos } from './retained-qos';
import type { DurablePersistence } from './store/durable-persistence';
import { ackAfterStore } from './store/ack-after-store';
import { StoredSessions } from './store/sessions';
import { LogLimiter, printable, type Logger } from './log';
import type { BrokerMetrics } from './metrics';
import type { Limits } from './security/limits';
import type { Identity, Rights } from './security/rights';

/** Shared message fan-out and persistence (Redis), or the durable store, and this instance's id; in-memory when absent. */
export interface Backend {
  id?: string;
  mq?: unknown;
  persistence?: unknown;
  /** The durable store's persistence (store/): its sessions are restored and its wills published at start. */
  store?: DurablePersistence;
  /** With Redis: the connections of the rules every instance shares (cluster/). */
  cluster?: ClusterLink;
}

/** Topic aliases an MQTT 5 client may set on its connection: each names a topic, checked as that topic at every use. */
const TOPIC_ALIAS_MAXIMUM = 10;

export interface Security extends LoginPolicy {
  rights: Rights;
  limits: Limits;
}

/**
 * Aedes with mqlive's admission wired into its hooks:
 * - who connects: authentication.ts (logins, the empty-id rule of MQTT-3.1.3-8);
 * - what a client may publish: admission/publish.ts, its steps in order (MQTT 5 properties too:
 *   admission/publish-properties.ts); a refused publish is either dropped after its acknowledgement
 *   (admission/drop-after-ack.ts), with a notice to a client that listens (admission/refusal-notice.ts), or ends
 *   the connection; an MQTT 5 client is told either with a reason code (admission/mqtt5-refusal.ts);
 * - what it may subscribe to: topic shape, rights and the subscription cap, else SUBACK 0x80;
 * - how much state it may leave: caps/retained.ts, caps/queued.ts, caps/sessions.ts, caps/awaiting-pubrel.ts;
 * - what it may receive: its rights at every delivery (security/rights.ts canRead), whatever it subscribed to;
 * - what a persistent session keeps: only granted filters (admission/subscribe-admission.ts);
 * - what is counted and logged: events.ts;
 * - MQTT 5 on Aedes's beta: aedes-beta-fixes.ts (what 1.2.0 fixed, and Aedes bugs of both), shared-subscriptions.ts,
 *   inbound-tap.ts (packet order across a SUBSCRIBE), client-packet-size.ts and receive-maximum.ts (a client's own
 *   limits), mqtt5-disconnect.ts (why a connection ends).
 */
export async function createAedesBroker(log: Logger, metrics: BrokerMetrics, security: Security, backend: Backend = {}): Promise<Aedes> {
  const { limits, rights } = security;
  const warnings = new LogLimiter(log);
  // Every reply is logged, up to a flood: then a count of those held back.
  const replyLines = new LogLimiter(log, 50, 10_000);
  const notices = new RefusalNotices();
  const admission = new PublishAdmission(limits, rights, (client) => notices.listens(client));
  const auth = new Authentication(security, limits, log, metrics, (client, identity, will) => admission.admitWill(client, identity, will)?.why ?? null);
  const { identities } = auth;
  const cluster = backend.cluster ? new Cluster(backend.cluster, limits, log) : null;
  auth.cluster = cluster;
  const dropper = new DropAfterAck();
  const shared = new SharedSubscriptions();
  const subscribeAdmission = new SubscribeAdmission(limits, rights, (client) => identities.get(client));

  /** What a client may read, checked at each delivery: its own refusal notices under $mqlive/, else its rights. */
  const mayRead = (client: Client, topic: string): boolean => {
    if (topic.startsWith(BROKER_TOPICS)) return RefusalNotices.maySubscribe(client.id, topic);
    const identity = identities.get(client);
    return !!identity && rights.canRead(identity, topic);
  };
  const hooks = guardHooks(
    {
      preConnect: auth.preConnect,
      authenticate: auth.authenticate,
      authorizePublish(client, packet, done) {
        keepForwardedProperties(packet);
        if (!client) return done(null); // a stored will replayed by the broker itself
        metrics.messagesIn += 1;
        const verdict = admission.admit(client, identities.get(client), packet);
        const { refusal } = verdict;
        if (refusal) {
          metrics.rejectedPublishes[refusal.reason] += 1;
          if (client.version === 5) {
            const verb = refusal.disconnect ? 'Disconnected' : 'Refused a publish from';
            warnings.warn(
              { event: refusal.disconnect ? 'client_disconnected_by_broker' : 'publish_dropped', clientId: client.id, topic: packet.topic, reason: refusal.why },
              `${verb} ${printable(client.id)} on ${printable(packet.topic)}: ${printable(refusal.why)}`,
            );
            refuseMqtt5Publish(client, packet, refusal, (p) => dropper.drop(p));
            if (!refusal.disconnect && notices.listens(client)) return notices.tell(client, packet, refusal, () => done(null));
            return done(null);
          }
          if (refusal.disconnect) {
            warnings.warn({ event: 'client_disconnected_by_broker', clientId: client.id, topic: packet.topic, reason: refusal.why }, `Disconnected ${printable(client.id)}: ${printable(refusal.why)}`);
            return done(new Error(refusal.why));
          }
          dropper.drop(packet);
          warnings.warn({ event: 'publish_dropped', clientId: client.id, topic: packet.topic, reason: refusal.why }, `Dropped a publish from ${printable(client.id)} on ${printable(packet.topic)}: ${printable(refusal.why)}`);
          if (notices.listens(client)) return notices.tell(client, packet, refusal, () => done(null));
          return done(null);
        }
        if ('reply' in verdict && verdict.reply) {
          const { from, text } = verdict.reply;
          replyLines.info({ event: 'client_message', from, text }, `From client ${from}: ${printable(text)}`);
        }
        done(null);
      },
      authorizeSubscribe(client, subscription, done) {
        const refused = subscribeAdmission.decide(client, subscription);
        if (!refused) return done(null, subscription);
        metrics.subscriptionsRefused += 1;
        if (refused.overCap) metrics.capsHit.subscriptions += 1;
        warnings.warn(
          { event: 'subscription_refused', clientId: client.id, topic: subscription.topic, ...(refused.overCap && { cap: 'subscriptions' }) },
          `Refused ${printable(client.id)} a subscription to ${printable(subscription.topic)}${refused.why ? `: ${refused.why}` : ''}`,
        );
        done(null, null); // SUBACK 0x80 (MQTT 5: 0x87)
      },
      authorizeForward(client, packet) {
        if (rights.filtersDeliveries && !mayRead(client, packet.topic)) return null;
        if (client.version === 5 && (!fitsClient(client, packet) || !shared.mayDeliver(client, packet))) return null;
        metrics.messagesOut += 1;
        return retainedAtGrantedQos(client, packet);
      },
    },
    log,
    () => (metrics.hookFaults += 1),
  );
  const aedes = await Aedes.createBroker({
    ...(backend.id && { id: backend.id }),
    ...(backend.mq !== undefined && { mq: backend.mq }),
    ...((backend.store ?? backend.persistence) !== undefined && { persistence: backend.store ?? backend.persistence }),
    connectTimeout: limits.connectTimeoutMs,
    maxTopicLevels: Math.min(100, limits.maxTopicLevels),
    maxClientsIdLength: 64,
    // MQTT 5, said in CONNACK: the largest packet mqlive takes, how many QoS 1 and 2 publishes a client may have
    // unacknowledged (its QoS 2 ones are also capped by caps/awaiting-pubrel.ts), and topic aliases (Mosquitto's 10).
    maximumPacketSize: limits.maxPacketBytes,
    receiveMaximum: limits.maxAwaitingPubrel,
    topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
    ...hooks,
  });
  await cluster?.claims.install(aedes);
  useNullPrototypeBrokerTables(aedes);
  tolerateDuplicatePubrel(aedes);
  clearSkippedDeliveriesAlone(aedes);
  resumeSessionsEndingWithTheirConnection(aedes);
  clearTimersOfClientsBackElsewhere(aedes);
  shared.install(aedes);
  const order = new SubscriptionOrder();
  order.install(aedes);
  // Each client's packets pass the order and the shared-subscription rewriting before Aedes reads them.
  const handle = aedes.handle.bind(aedes);
  aedes.handle = (conn, req) => {
    const client = handle(conn, req);
    shared.attach(client);
    order.attach(client);
    return client;
  };
  tellKeepAliveTimeouts(aedes as unknown as Parameters<typeof tellKeepAliveTimeouts>[0]);
  dropper.install(aedes);
  // With Redis: clean sessions get in (served here) while it is down, persistent ones are refused at once.
  if (backend.persistence instanceof OutagePersistence) serveThroughOutages(aedes, backend.persistence, log, limits);
  await new RetainedCap(limits, metrics, warnings).install(aedes);
  // Each cap logs through its own limiter, so one flooded cap cannot hide another's line.
  const queuedCap = new QueuedCap(limits, metrics, log);
  queuedCap.install(aedes);
  new AwaitingPubrelCap(limits, metrics, log).install(aedes);
  const sessionCap = new SessionCap(limits, metrics, log, (client) => identities.get(client));
  sessionCap.install(aedes);
  // Last, around every other check: a CONNECT refused by any of them takes no connection over elsewhere.
  cluster?.claims.claimOnAdmission(aedes, { needsSession: (client) => auth.needsSession(client), ownerCheckLater: (client) => auth.ownerCheckLater.get(client) ?? null });
  if (backend.store) {
    ackAfterStore(aedes); // Aedes's PUBACK would go before the message is kept
    backend.store.usernameOf = (client) => identities.get(client as Client)?.username ?? null;
    await queuedCap.countStored(backend.store.owedMessages());
    // Before the wills from before are published: none may be queued through a subscription over today's cap.
    for (const [clientId, filters] of await backend.store.trimSubscriptions(limits.maxSubscriptionsPerClient)) {
      metrics.capsHit.subscriptions += filters.length;
      log.warn(
        { event: 'cap_hit', cap: 'subscriptions', clientId, topics: filters },
        `Removed ${filters.length} subscriptions of session ${printable(clientId)}, kept before, over today's limit (--max-subscriptions-per-client ${limits.maxSubscriptionsPerClient})`,
      );
    }
    const stored = new StoredSessions(
      backend.store,
      {
        usernameOf: (client) => identities.get(client)?.username ?? null,
        ownerOf: (clientId) => sessionCap.ownerOf(clientId),
        restore(clientId, { username, owner }) {
          if (username !== null) auth.restoreOwner(clientId, username);
          if (owner !== null) sessionCap.restore(clientId, owner);
        },
        release: (clientId) => sessionCap.release(clientId),
        willRefusal(clientId, username, will) {
          // Who its client would be if it connected today: without a users file, everyone is anonymous.
          const { users, allowAnonymous } = security;
          let identity: Identity = { clientId, username: null, role: 'anonymous' };
          if (users !== null && username === null && !allowAnonymous) return 'anonymous clients may not connect any more';
          if (users !== null && username !== null) {
            const role = users.users[username]?.role;
            if (role === undefined) return `user ${username} is not in the users file any more`;
            identity = { clientId, username, role };
          }
          return admission.admitWill({ id: clientId } as Client, identity, will)?.why ?? null;
        },
      },
      log,
    );
    await stored.install(aedes);
    aedes.on('closed', () => stored.close());
  }
  subscribeAdmission.keepOnlyGranted(aedes);
  aedes.on('unsubscribe', (filters, client) => subscribeAdmission.forget(client, filters));
  logAndCountEvents(aedes, log, metrics, identities);
  return aedes;
}

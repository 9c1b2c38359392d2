import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import { checkMessage } from '../protocol';
import { LogLimiter, type Logger } from './log';
import type { BrokerMetrics, Transport } from './metrics';
import { TokenBucket, type Limits } from './security/limits';
import type { Identity, Rights } from './security/rights';
import { verifyPassword, type UsersFile } from './security/users';

export function transportOf(client: Client): Transport {
  return client.req ? 'ws' : 'tcp';
}

export function remoteAddressOf(client: Client): string | undefined {
  const socket = client.req?.socket ?? (client.conn as { remoteAddress?: string });
  return socket.remoteAddress;
}

/** Shared message fan-out and persistence (Redis), and this instance's id; in-memory when absent. */
export interface Backend {
  id?: string;
  mq?: unknown;
  persistence?: unknown;
}

export interface Security {
  /** Null: no users file, every client is anonymous. */
  users: UsersFile | null;
  /** With a users file: whether clients without credentials may connect (with a viewer's rights). */
  allowAnonymous: boolean;
  rights: Rights;
  limits: Limits;
}

/** After this many failed logins in a minute, an address is refused without checking its password. */
const MAX_FAILED_LOGINS_PER_MINUTE = 10;

function connackError(returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * Creates the Aedes instance with mqlive's rules:
 * - a client that asks for a persistent session without an id is refused (MQTT-3.1.3-8);
 * - with a users file, clients log in (scrypt hashes) and get their role's rights (security/rights.ts);
 * - nobody publishes under `$SYS/`; refused subscriptions get SUBACK 0x80; a refused publish is dropped,
 *   counted and logged, and a client refused `maxRefusedPublishes` times is disconnected;
 * - a publish on a contract topic with a bad id or payload is acknowledged but not forwarded nor retained,
 *   counted and logged; the client stays connected (MQTT 3.1.1 has no negative acknowledgement);
 * - topic length and depth, and each client's publish rate, are bounded.
 */
export async function createAedes(log: Logger, metrics: BrokerMetrics, security: Security, backend: Backend = {}): Promise<Aedes> {
  const { limits, rights } = security;
  const warnings = new LogLimiter(log);
  const rejected = new WeakSet<PublishPacket>();
  const emptyIdWithSession = new WeakSet<Client>();
  const identities = new WeakMap<Client, Identity>();
  const buckets = new WeakMap<Client, TokenBucket>();
  const refusals = new WeakMap<Client, number>();
  const failedLogins = new Map<string, { count: number; since: number }>();

  const topicProblem = (topic: string): string | null => {
    if (topic.length > limits.maxTopicLength) return `topic of ${topic.length} characters (limit ${limits.maxTopicLength})`;
    if (topic.split('/').length > limits.maxTopicLevels) return `topic of more than ${limits.maxTopicLevels} levels`;
    return null;
  };

  const drop = (packet: PublishPacket, client: Client, reason: keyof BrokerMetrics['rejectedPublishes'], why: string) => {
    rejected.add(packet);
    metrics.rejectedPublishes[reason] += 1;
    warnings.warn({ clientId: client.id, topic: packet.topic, reason: why }, `Dropped a publish from ${client.id} on ${packet.topic}: ${why}`);
  };

  const aedes = await Aedes.createBroker({
    ...(backend.id && { id: backend.id }),
    ...(backend.mq !== undefined && { mq: backend.mq }),
    ...(backend.persistence !== undefined && { persistence: backend.persistence }),
    connectTimeout: limits.connectTimeoutMs,
    maxTopicLevels: Math.min(100, limits.maxTopicLevels),
    maxClientsIdLength: 64,
    preConnect(client, packet, done) {
      if (packet.clientId === '' && packet.clean === false) emptyIdWithSession.add(client);
      done(null, true);
    },
    authenticate(client, username, password, done) {
      if (emptyIdWithSession.has(client)) {
        // [MQTT-3.1.3-8] CONNACK 0x02 "identifier rejected"
        return done(connackError(2, 'a client without an id must ask for a clean session'), false);
      }
      const anonymous: Identity = { clientId: client.id, username: null, role: 'anonymous' };
      if (!security.users) {
        identities.set(client, anonymous);
        return done(null, true);
      }
      if (username === undefined) {
        if (security.allowAnonymous) {
          identities.set(client, anonymous);
          return done(null, true);
        }
        return done(connackError(5, 'this broker needs a user name and password'), false);
      }
      const address = remoteAddressOf(client) ?? 'unknown';
      const refuse = () => {
        const now = Date.now();
        const f = failedLogins.get(address);
        if (!f || now - f.since > 60_000) {
          // Forget addresses whose minute is over, so failures from many addresses cannot grow this map for good.
          for (const [a, old] of failedLogins) if (now - old.since > 60_000) failedLogins.delete(a);
          failedLogins.set(address, { count: 1, since: now });
        } else f.count += 1;
        metrics.failedLogins += 1;
        warnings.warn({ remote: address, username }, `Failed login as "${username}" from ${address}`);
        done(connackError(4, 'bad user name or password'), false);
      };
      const f = failedLogins.get(address);
      if (f && f.count >= MAX_FAILED_LOGINS_PER_MINUTE && Date.now() - f.since < 60_000) return refuse();
      const user = security.users.users[username];
      // Check a password even for an unknown user, so the answer takes as long either way.
      const stored = user?.password ?? 'scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
      verifyPassword(password?.toString('utf8') ?? '', stored).then(
        (ok) => {
          if (!ok || !user) return refuse();
          identities.set(client, { clientId: client.id, username, role: user.role });
          done(null, true);
        },
        () => refuse(),
      );
    },
    authorizePublish(client, packet, done) {
      if (!client) return done(null); // a stored will replayed by the broker itself
      metrics.messagesIn += 1;
      if (packet.topic.startsWith('$SYS/')) {
        metrics.rejectedPublishes.reserved_topic += 1;
        return done(new Error('$SYS/ topics are reserved for the broker'));
      }
      const badTopic = topicProblem(packet.topic);
      if (badTopic) {
        metrics.rejectedPublishes.bad_topic += 1;
        return done(new Error(badTopic));
      }
      let bucket = buckets.get(client);
      if (!bucket) buckets.set(client, (bucket = new TokenBucket(limits.publishRate, limits.publishBurst)));
      if (!bucket.take()) {
        metrics.rejectedPublishes.rate_limited += 1;
        warnings.warn({ clientId: client.id }, `Disconnected ${client.id}: more than ${limits.publishRate} publishes a second`);
        return done(new Error('publish rate limit exceeded'));
      }
      const identity = identities.get(client);
      if (!identity || !rights.canPublish(identity, packet.topic)) {
        const count = (refusals.get(client) ?? 0) + 1;
        refusals.set(client, count);
        drop(packet, client, 'not_authorized', `${identity?.username ?? 'anonymous'} may not publish there`);
        if (count >= limits.maxRefusedPublishes) return done(new Error(`${count} publishes refused`));
        return done(null);
      }
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const result = checkMessage(packet.topic, payload);
      if (result.topic && payload.length > limits.maxContractPayloadBytes) {
        drop(packet, client, 'too_large', `payload of ${payload.length} bytes on a contract topic (limit ${limits.maxContractPayloadBytes})`);
      } else if (!result.ok) {
        drop(packet, client, 'invalid_payload', result.reason);
      } else if (result.topic?.kind === 'clientMessage') {
        const { text } = result.payload as { text: string };
        log.info({ from: result.topic.clientId, text }, `From client ${result.topic.clientId}: ${text}`);
      }
      done(null);
    },
    authorizeSubscribe(client, subscription, done) {
      const identity = identities.get(client);
      const problem = topicProblem(subscription.topic);
      if (problem || !identity || !rights.canSubscribe(identity, subscription.topic)) {
        metrics.subscriptionsRefused += 1;
        warnings.warn({ clientId: client.id, topic: subscription.topic }, `Refused ${client.id} a subscription to ${subscription.topic}${problem ? `: ${problem}` : ''}`);
        return done(null, null); // SUBACK 0x80
      }
      done(null, subscription);
    },
    authorizeForward(client, packet) {
      if (rights.filtersDeliveries) {
        const identity = identities.get(client);
        if (!identity || !rights.canReceive(identity, packet.topic)) return null;
      }
      metrics.messagesOut += 1;
      return packet;
    },
  });

  // The acknowledgement is sent before Aedes calls publish(); a refused packet stops here.
  type PublishFn = (packet: PublishPacket, client: Client | null, done: (error?: Error) => void) => void;
  const mutable = aedes as unknown as { publish: PublishFn };
  const publish = mutable.publish.bind(aedes);
  mutable.publish = (packet, client, done) => {
    if (typeof client === 'function') return publish(packet, null, client);
    if (rejected.has(packet)) return done();
    publish(packet, client, done);
  };

  aedes.on('client', (client) => {
    const transport = transportOf(client);
    metrics.clientsConnected[transport] += 1;
    metrics.connectionsTotal[transport] += 1;
    const user = identities.get(client)?.username;
    log.info(
      { clientId: client.id, transport, remote: remoteAddressOf(client), user },
      `Client connected: ${client.id} (${transport}${user ? `, user ${user}` : ''})`,
    );
  });
  aedes.on('clientDisconnect', (client) => {
    const transport = transportOf(client);
    metrics.clientsConnected[transport] -= 1;
    log.info({ clientId: client.id, transport }, `Client disconnected: ${client.id} (${transport})`);
  });
  aedes.on('clientError', (client, error) => {
    log.debug({ clientId: client.id, err: error.message }, 'client error');
  });
  aedes.on('connectionError', (client, error) => {
    warnings.warn({ remote: remoteAddressOf(client), err: error.message }, `Connection refused: ${error.message}`);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    const topics = subscriptions.map((s) => `${s.topic} (QoS ${s.qos})`).join(', ');
    log.info({ clientId: client.id, subscriptions }, `${client.id} subscribed to ${topics}`);
  });
  return aedes;
}

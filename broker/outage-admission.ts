/**
 * Who gets in while Redis is down (issue 31, "through an outage"), decided once at each CONNECT:
 * - a clean session (3.1.1 clean=true; MQTT 5 with no Session Expiry) is served from this instance's memory for its
 *   whole connection (outage-persistence.ts), and gets its CONNACK at once;
 * - a client that needs a persistent session (3.1.1 clean=false; MQTT 5 Clean Start 0 or a Session Expiry) is
 *   refused at once: CONNACK 0x03 "server unavailable" (MQTT 5: 0x88), logged as `connection_refused` with reason
 *   `redis-down`. Its session is in Redis, and waiting for Redis meant no CONNACK at all.
 * And when Redis is back: a CONNECT that waited on Redis and whose client gave up meanwhile is not registered (it
 * was counted as connected, a ghost in /healthz and mqlive_clients_connected, for good).
 */
import type { Aedes, AedesOptions, AuthenticateError, Client } from 'aedes';
import { remoteAddressOf } from './client-info';
import { requireInternal } from './library-internals';
import { LogLimiter, quoted, type Logger } from './log';
import type { OutagePersistence } from './outage-persistence';
import type { Limits } from './security/limits';

type ConnectPacket = Parameters<NonNullable<AedesOptions['preConnect']>>[1];

/** Whether this CONNECT asks for a session that outlives its connection, or resumes one. */
export function needsSession(packet: ConnectPacket): boolean {
  if (packet.clean === false) return true;
  return packet.protocolVersion === 5 && (packet.properties?.sessionExpiryInterval ?? 0) > 0;
}

export const REDIS_DOWN_REFUSAL = 'Redis is down: persistent sessions are unavailable here until it is back (a clean session can connect now)';

/** Refuses a client that needs a persistent session while Redis cannot be asked: CONNACK 3 (MQTT 5: 0x88), logged. */
export function refuseWhileRedisDown(warnings: LogLimiter, client: Client, done: Parameters<NonNullable<AedesOptions['authenticate']>>[3]): void {
  warnings.warn(
    { event: 'connection_refused', clientId: client.id, remote: remoteAddressOf(client), reason: 'redis-down' },
    `Connection refused: ${quoted(client.id)} asked for a persistent session while Redis is down`,
  );
  done(Object.assign(new Error(REDIS_DOWN_REFUSAL), { returnCode: 3 }) as AuthenticateError, false);
}

export function serveThroughOutages(aedes: Aedes, persistence: OutagePersistence, log: Logger, limits: Pick<Limits, 'maxRetainedMessages' | 'maxRetainedBytes'>): void {
  const warnings = new LogLimiter(log);
  const refused = new WeakSet<Client>();
  persistence.retained.maxMessages = limits.maxRetainedMessages;
  persistence.retained.maxBytes = limits.maxRetainedBytes;

  const internals = aedes as unknown as { preConnect: unknown; authenticate: unknown; registerClient: unknown };
  requireInternal(
    typeof internals.preConnect === 'function' && typeof internals.authenticate === 'function' && typeof internals.registerClient === 'function',
    'aedes',
    'Aedes#preConnect, #authenticate and #registerClient',
  );
  const preConnect = aedes.preConnect.bind(aedes);
  aedes.preConnect = (client, packet, done) => {
    if (persistence.redisUp()) {
      if (packet.clientId) persistence.useRedisFor(packet.clientId);
    } else if (needsSession(packet)) {
      refused.add(client);
    } else {
      persistence.serveLocally(client);
      client.conn.once('close', () => void persistence.release(client));
    }
    preConnect(client, packet, done);
  };

  // The refusal goes through authenticate: Aedes answers a refusal there with a CONNACK (its return code; MQTT 5
  // gets the matching reason code), a refusal in preConnect with none. It comes before the login is checked.
  const authenticate = aedes.authenticate.bind(aedes);
  aedes.authenticate = (client, username, password, done) => {
    if (!refused.has(client)) return authenticate(client, username, password, done);
    refuseWhileRedisDown(warnings, client, done);
  };

  const internalsWithRegister = aedes as unknown as { registerClient: (client: Client) => void };
  const registerClient = internalsWithRegister.registerClient.bind(aedes);
  internalsWithRegister.registerClient = (client) => {
    // Its connection closed while its CONNECT waited (on Redis): Aedes would count it as connected for good.
    if (client.closed) return;
    registerClient(client);
  };
}

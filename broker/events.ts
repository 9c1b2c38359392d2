import type { Aedes, Client } from 'aedes';
import { LogLimiter, printable, type Logger } from './log';
import type { BrokerMetrics } from './metrics';
import { clientHolding, remoteAddressOf, transportOf } from './client-info';
import { requireInternal } from './library-internals';
import type { Identity } from './security/rights';

/**
 * A connection that takes over a client id another connection holds (MQTT-3.1.4-2) is logged as such, with both
 * addresses: two publishers of one device id (both default to the host name) knock each other off, and the log
 * says so instead of showing only connects and disconnects. Aedes decides it in registerClient.
 */
function logTakeovers(aedes: Aedes, warnings: LogLimiter): void {
  const internals = aedes as unknown as { clients?: object; registerClient: (client: Client) => void };
  requireInternal(typeof internals.registerClient === 'function' && typeof internals.clients === 'object', 'aedes', 'Aedes#registerClient and #clients');
  const registerClient = internals.registerClient.bind(aedes);
  internals.registerClient = (client) => {
    const previous = clientHolding(aedes, client.id);
    if (previous && previous !== client) {
      const [remote, previousRemote] = [remoteAddressOf(client), remoteAddressOf(previous)];
      warnings.warn(
        { event: 'client_taken_over', clientId: client.id, remote, previousRemote },
        `Client id ${printable(client.id)} taken over: the connection from ${remote ?? 'unknown'} replaces the one from ${previousRemote ?? 'unknown'}`,
      );
    }
    registerClient(client);
  };
}

/** Counts and logs what Aedes reports: connects, disconnects, client and connection errors, subscriptions. */
export function logAndCountEvents(aedes: Aedes, log: Logger, metrics: BrokerMetrics, identities: WeakMap<Client, Identity>): void {
  const warnings = new LogLimiter(log);
  // A client may subscribe as often as it likes: the lines saying so are bounded.
  const subscribeLines = new LogLimiter(log, 20, 10_000);
  logTakeovers(aedes, warnings);
  aedes.on('client', (client) => {
    const transport = transportOf(client);
    metrics.clientsConnected[transport] += 1;
    metrics.connectionsTotal[transport] += 1;
    const user = identities.get(client)?.username;
    log.info(
      { event: 'client_connected', clientId: client.id, transport, remote: remoteAddressOf(client), user, protocolVersion: client.version },
      `Client connected: ${printable(client.id)} (${transport}${user ? `, user ${printable(user)}` : ''})`,
    );
  });
  aedes.on('clientDisconnect', (client) => {
    const transport = transportOf(client);
    metrics.clientsConnected[transport] -= 1;
    log.info({ event: 'client_disconnected', clientId: client.id, transport }, `Client disconnected: ${printable(client.id)} (${transport})`);
  });
  aedes.on('clientError', (client, error) => {
    log.debug({ clientId: client.id, err: error.message }, 'client error');
  });
  aedes.on('connectionError', (client, error) => {
    warnings.warn({ event: 'connection_refused', remote: remoteAddressOf(client), err: error.message }, `Connection refused: ${printable(explainRefusal(error.message))}`);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    // Refused filters (SUBACK 0x80) were logged as refused already.
    const granted = subscriptions.filter((s) => (s.qos as number) !== 128);
    if (granted.length === 0) return;
    const topics = granted.map((s) => `${printable(s.topic)} (QoS ${s.qos})`).join(', ');
    subscribeLines.info({ event: 'subscribed', clientId: client.id, subscriptions: granted }, `${printable(client.id)} subscribed to ${topics}`);
  });
}

/** A protocol level mqlive does not know ("Invalid protocol version" from the parser, "unacceptable …" from Aedes): say which ones it speaks. */
export function explainRefusal(message: string): string {
  if (!/^(invalid|unacceptable) protocol version$/i.test(message)) return message;
  return 'the client asked for an MQTT version mqlive does not speak: mqlive speaks MQTT 5, 3.1.1 and 3.1';
}

import type { Aedes, Client } from 'aedes';
import { LogLimiter, printable, type Logger } from './log';
import type { BrokerMetrics } from './metrics';
import { remoteAddressOf, transportOf } from './client-info';
import type { Identity } from './security/rights';

/** Counts and logs what Aedes reports: connects, disconnects, client and connection errors, subscriptions. */
export function logAndCountEvents(aedes: Aedes, log: Logger, metrics: BrokerMetrics, identities: WeakMap<Client, Identity>): void {
  const warnings = new LogLimiter(log);
  // A client may subscribe as often as it likes: the lines saying so are bounded.
  const subscribeLines = new LogLimiter(log, 20, 10_000);
  aedes.on('client', (client) => {
    const transport = transportOf(client);
    metrics.clientsConnected[transport] += 1;
    metrics.connectionsTotal[transport] += 1;
    const user = identities.get(client)?.username;
    log.info(
      { clientId: client.id, transport, remote: remoteAddressOf(client), user },
      `Client connected: ${printable(client.id)} (${transport}${user ? `, user ${printable(user)}` : ''})`,
    );
  });
  aedes.on('clientDisconnect', (client) => {
    const transport = transportOf(client);
    metrics.clientsConnected[transport] -= 1;
    log.info({ clientId: client.id, transport }, `Client disconnected: ${printable(client.id)} (${transport})`);
  });
  aedes.on('clientError', (client, error) => {
    log.debug({ clientId: client.id, err: error.message }, 'client error');
  });
  aedes.on('connectionError', (client, error) => {
    warnings.warn({ remote: remoteAddressOf(client), err: error.message }, `Connection refused: ${printable(error.message)}`);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    // Refused filters (SUBACK 0x80) were logged as refused already.
    const granted = subscriptions.filter((s) => (s.qos as number) !== 128);
    if (granted.length === 0) return;
    const topics = granted.map((s) => `${printable(s.topic)} (QoS ${s.qos})`).join(', ');
    subscribeLines.info({ clientId: client.id, subscriptions: granted }, `${printable(client.id)} subscribed to ${topics}`);
  });
}

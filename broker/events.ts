import type { Aedes, Client } from 'aedes';
import { LogLimiter, type Logger } from './log';
import type { BrokerMetrics } from './metrics';
import { remoteAddressOf, transportOf } from './client-info';
import type { Identity } from './security/rights';

/** Counts and logs what Aedes reports: connects, disconnects, client and connection errors, subscriptions. */
export function logAndCountEvents(aedes: Aedes, log: Logger, metrics: BrokerMetrics, identities: WeakMap<Client, Identity>): void {
  const warnings = new LogLimiter(log);
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
}

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
    warnings.warn({ remote: remoteAddressOf(client), err: error.message }, `Connection refused: ${explainRefusal(error.message)}`);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    const topics = subscriptions.map((s) => `${s.topic} (QoS ${s.qos})`).join(', ');
    log.info({ clientId: client.id, subscriptions }, `${client.id} subscribed to ${topics}`);
  });
}

/**
 * Aedes 1.x speaks MQTT 3.1.1 (and 3.1) only and refuses MQTT 5 with "unacceptable protocol version": say what
 * that means and how to connect, since MQTTX and some other tools ask for MQTT 5 by default.
 */
export function explainRefusal(message: string): string {
  if (message !== 'unacceptable protocol version') return message;
  return (
    'the client asked for an MQTT version other than 3.1.1 or 3.1 (MQTT 5?). mqlive speaks MQTT 3.1.1: connect with protocol ' +
    'version 4 (mosquitto_sub -V mqttv311, MQTT.js protocolVersion: 4, MQTTX: MQTT Version 3.1.1)'
  );
}

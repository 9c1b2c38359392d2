import { Aedes, type Client, type PublishPacket } from 'aedes';
import { checkMessage } from '../protocol';
import { LogLimiter, type Logger } from './log';
import type { BrokerMetrics, Transport } from './metrics';

export function transportOf(client: Client): Transport {
  return client.req ? 'ws' : 'tcp';
}

export function remoteAddressOf(client: Client): string | undefined {
  const socket = client.req?.socket ?? (client.conn as { remoteAddress?: string });
  return socket.remoteAddress;
}

/**
 * Creates the Aedes instance with mqlive's rules:
 * - a client that asks for a persistent session without an id is refused (MQTT-3.1.3-8);
 * - nobody publishes under `$SYS/`;
 * - a publish on a contract topic with a bad id or payload is acknowledged but not forwarded nor retained,
 *   counted and logged; the client stays connected (MQTT 3.1.1 has no negative acknowledgement).
 */
export async function createAedes(log: Logger, metrics: BrokerMetrics): Promise<Aedes> {
  const badMessages = new LogLimiter(log);
  const rejected = new WeakSet<PublishPacket>();
  const emptyIdWithSession = new WeakSet<Client>();

  const aedes = await Aedes.createBroker({
    preConnect(client, packet, done) {
      if (packet.clientId === '' && packet.clean === false) emptyIdWithSession.add(client);
      done(null, true);
    },
    authenticate(client, _username, _password, done) {
      if (emptyIdWithSession.has(client)) {
        // [MQTT-3.1.3-8] CONNACK 0x02 "identifier rejected"
        const error = Object.assign(new Error('a client without an id must ask for a clean session'), { returnCode: 2 });
        return done(error as Parameters<typeof done>[0], false);
      }
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (client) metrics.messagesIn += 1;
      if (packet.topic.startsWith('$SYS/')) {
        metrics.rejectedPublishes.reserved_topic += 1;
        return done(new Error('$SYS/ topics are reserved for the broker'));
      }
      if (!client) return done(null); // a stored will replayed by the broker itself
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const result = checkMessage(packet.topic, payload);
      if (!result.ok) {
        rejected.add(packet);
        metrics.rejectedPublishes.invalid_payload += 1;
        badMessages.warn(
          { clientId: client.id, topic: packet.topic, reason: result.reason },
          `Dropped a publish from ${client.id} on ${packet.topic}: ${result.reason}`,
        );
      } else if (result.topic?.kind === 'clientMessage') {
        const { text } = result.payload as { text: string };
        log.info({ from: result.topic.clientId, text }, `From client ${result.topic.clientId}: ${text}`);
      }
      done(null);
    },
    authorizeForward(_client, packet) {
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
    log.info({ clientId: client.id, transport, remote: remoteAddressOf(client) }, `Client connected: ${client.id} (${transport})`);
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
    badMessages.warn({ remote: remoteAddressOf(client), err: error.message }, `Connection refused: ${error.message}`);
  });
  aedes.on('subscribe', (subscriptions, client) => {
    const topics = subscriptions.map((s) => `${s.topic} (QoS ${s.qos})`).join(', ');
    log.info({ clientId: client.id, subscriptions }, `${client.id} subscribed to ${topics}`);
  });
  return aedes;
}

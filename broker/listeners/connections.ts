import type { Aedes } from 'aedes';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { useNullPrototypeClientTables } from '../aedes-beta-fixes';
import { ClientConnection, type ConnectionLimits, type CutOffHandler } from '../client-connection';
import { installedVersion } from '../library-internals';
import { disconnectPacket } from '../mqtt5-disconnect';
import { LogLimiter, printable, type Logger } from '../log';
import type { BrokerMetrics } from '../metrics';
import { useLeanParser } from '../packet-memory';
import { useSameMessageDedupe } from '../duplicate-deliveries';
import { installQoS0Delivery } from '../qos0-delivery';
import { installReceiveMaximum } from '../receive-maximum';
import { ConnectionCounter } from '../security/connection-counter';
import type { Limits } from '../security/limits';

/**
 * What every listener does with a new connection: count it against the connection caps, then hand it to Aedes
 * through a ClientConnection (which cuts off a client that stops reading or sends too much) with mqlive's
 * per-connection patches in place.
 */
export class Connections {
  private readonly counter: ConnectionCounter;
  /** Refusals of every listener share one rate limit in the log. */
  readonly refusals: LogLimiter;

  constructor(
    private readonly aedes: Aedes,
    private readonly metrics: BrokerMetrics,
    private readonly log: Logger,
    private readonly limits: Limits,
    readonly outbound: ConnectionLimits,
  ) {
    this.counter = new ConnectionCounter(limits);
    this.refusals = new LogLimiter(log);
    // One listener for all clients (not one per client: an idle connection stays light).
    aedes.on('clientReady', (client) => {
      if (client.conn instanceof ClientConnection) client.conn.connectAccepted();
    });
  }

  /** Counts the connection against the limits; false (and the socket closed) when it is one too many. */
  admit(socket: Socket | (Duplex & { remoteAddress?: string })): boolean {
    const address = socket.remoteAddress ?? 'unknown';
    const refused = this.counter.admit(address);
    if (refused) {
      this.metrics.connectionsRefused += 1;
      this.refusals.warn({ event: 'connection_refused', remote: address }, `Refused a connection: ${refused}`);
      socket.destroy();
      return false;
    }
    socket.on('close', () => this.counter.release(address)); // 'close' comes once: `once` would add a wrapper per connection
    return true;
  }

  /** Hands a connection to Aedes; `make` builds its ClientConnection with the cut-off handler given. */
  handle(make: (onCutOff: CutOffHandler) => ClientConnection, req?: IncomingMessage): void {
    const { metrics, log } = this;
    const conn = make((reason, kind) => {
      if (kind === 'slow') metrics.slowClientsCutOff += 1;
      else metrics.oversizePackets += 1;
      // Its id once its CONNECT was accepted (read here rather than kept: one listener less per connection). A
      // cut-off comes from input, a timer or a flush, all after aedes.handle below has returned `client`.
      const clientId = client.connected ? client.id : '(before CONNECT)';
      log.warn({ event: 'client_cut_off', kind, clientId, remote: conn.remoteAddress, reason }, `Cut off ${kind === 'slow' ? 'slow ' : ''}client ${printable(clientId)}: ${reason}`);
      // An MQTT 5 client is told why (MQTT-3.2.2-15 / §3.14.2.1 0x95); a slow one would not read it.
      if (kind === 'oversize' && client.connected && client.version === 5) {
        return disconnectPacket(0x95, reason);
      }
      return undefined;
    });
    const client = this.aedes.handle(conn, req);
    useNullPrototypeClientTables(client);
    // Without the checked parser, strings MQTT forbids would get through: refuse the connection rather than that.
    if (!useLeanParser(client)) {
      log.error({ event: 'parser_unavailable' }, `Closed a connection: mqtt-packet's parser is not as mqlive expects (mqtt-packet ${installedVersion('mqtt-packet')})`);
      return void conn.destroy();
    }
    installQoS0Delivery(client, conn);
    useSameMessageDedupe(client);
    installReceiveMaximum(client, conn, this.limits);
  }
}

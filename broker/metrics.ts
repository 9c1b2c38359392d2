import type { Socket } from 'node:net';

/** The listener a client came in on (TLS counts as tcp). */
export type TransportName = 'tcp' | 'ws';
export type CapName = 'retained_messages' | 'retained_bytes' | 'queued_messages' | 'queued_bytes' | 'sessions_per_user' | 'awaiting_pubrel' | 'subscriptions';
export type RejectReason = 'invalid_payload' | 'reserved_topic' | 'not_authorized' | 'too_large' | 'bad_topic' | 'rate_limited';

/** Counters behind /metrics, rendered in the Prometheus text format (version 0.0.4). */
export class BrokerMetrics {
  readonly clientsConnected: Record<TransportName, number> = { tcp: 0, ws: 0 };
  readonly connectionsTotal: Record<TransportName, number> = { tcp: 0, ws: 0 };
  instanceId = '';
  messagesIn = 0;
  messagesOut = 0;
  slowClientsCutOff = 0;
  oversizePackets = 0;
  /** Times one of mqlive's broker hooks threw and refused instead (hook-guard.ts): a bug to report. */
  hookFaults = 0;
  readonly rejectedPublishes: Record<RejectReason, number> = {
    invalid_payload: 0,
    reserved_topic: 0,
    not_authorized: 0,
    too_large: 0,
    bad_topic: 0,
    rate_limited: 0,
  };
  subscriptionsRefused = 0;
  retainedMessages = 0;
  retainedBytes = 0;
  readonly capsHit: Record<CapName, number> = {
    retained_messages: 0,
    retained_bytes: 0,
    queued_messages: 0,
    queued_bytes: 0,
    sessions_per_user: 0,
    awaiting_pubrel: 0,
    subscriptions: 0,
  };
  failedLogins = 0;
  connectionsRefused = 0;

  private readonly liveSockets = new Set<Socket>();
  private closedBytesIn = 0;
  private closedBytesOut = 0;

  /** Counts a raw socket's bytes while it is open and after it closes. */
  trackSocket(socket: Socket): void {
    this.liveSockets.add(socket);
    socket.on('close', () => {
      this.liveSockets.delete(socket);
      this.closedBytesIn += socket.bytesRead;
      this.closedBytesOut += socket.bytesWritten;
    });
  }

  bytes(): { in: number; out: number } {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const s of this.liveSockets) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { in: bytesIn, out: bytesOut };
  }

  render(): string {
    const bytes = this.bytes();
    const lines: string[] = [];
    const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const perTransport = (r: Record<TransportName, number>): [string, number][] =>
      (Object.keys(r) as TransportName[]).map((t) => [label('transport', t), r[t]]);

    metric('mqlive_instance_info', 'gauge', 'This broker instance (its id is in the label).', [[label('id', this.instanceId), 1]]);
    metric('mqlive_clients_connected', 'gauge', 'MQTT clients connected now, by transport.', perTransport(this.clientsConnected));
    metric('mqlive_connections_total', 'counter', 'MQTT sessions accepted since start, by transport.', perTransport(this.connectionsTotal));
    metric('mqlive_messages_in_total', 'counter', 'PUBLISH packets received from clients.', [['', this.messagesIn]]);
    metric('mqlive_messages_out_total', 'counter', 'PUBLISH packets delivered to clients.', [['', this.messagesOut]]);
    metric('mqlive_bytes_in_total', 'counter', 'Bytes read from client sockets (TCP and WebSocket).', [['', bytes.in]]);
    metric('mqlive_bytes_out_total', 'counter', 'Bytes written to client sockets (TCP and WebSocket).', [['', bytes.out]]);
    metric('mqlive_subscriptions_refused_total', 'counter', 'SUBSCRIBE requests answered with 0x80.', [['', this.subscriptionsRefused]]);
    metric('mqlive_failed_logins_total', 'counter', 'CONNECTs refused for a bad user name or password.', [['', this.failedLogins]]);
    metric('mqlive_connections_refused_total', 'counter', 'Connections closed at once: too many, or a bad origin.', [['', this.connectionsRefused]]);
    metric('mqlive_oversize_packets_total', 'counter', 'Clients cut off for sending a packet over the size limit.', [['', this.oversizePackets]]);
    metric('mqlive_hook_faults_total', 'counter', "Times a broker hook failed and refused what it was checking (a bug: please report it).", [['', this.hookFaults]]);
    metric('mqlive_slow_clients_cut_off_total', 'counter', 'Clients disconnected because they stopped reading.', [['', this.slowClientsCutOff]]);
    metric('mqlive_retained_messages', 'gauge', 'Retained topics this instance knows of.', [['', this.retainedMessages]]);
    metric('mqlive_retained_bytes', 'gauge', 'Payload bytes of those retained messages.', [['', this.retainedBytes]]);
    metric(
      'mqlive_caps_hit_total',
      'counter',
      'Times a cap on broker state was hit: a retained message not retained, a queued message dropped, a persistent session refused, a client disconnected for QoS 2 messages it did not release, a subscription refused.',
      (Object.keys(this.capsHit) as CapName[]).map((c) => [label('cap', c), this.capsHit[c]]),
    );
    metric(
      'mqlive_publishes_rejected_total',
      'counter',
      'PUBLISH packets the broker refused to forward, by reason.',
      (Object.keys(this.rejectedPublishes) as RejectReason[]).map((r) => [label('reason', r), this.rejectedPublishes[r]]),
    );
    return lines.join('\n') + '\n';
  }
}

/** One label as the Prometheus text format writes it: backslash, double quote and newline escaped. */
function label(name: string, value: string): string {
  return `{${name}="${value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"}`;
}

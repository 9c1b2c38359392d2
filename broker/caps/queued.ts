import type { Aedes, PublishPacket } from 'aedes';
import type { LogLimiter } from '../log';
import { printable } from '../log';
import type { BrokerMetrics } from '../metrics';
import type { Limits } from '../security/limits';

type Queued = PublishPacket & { brokerId?: string; brokerCounter?: number; messageId?: number };

interface OutgoingQueue {
  outgoingEnqueueCombi(subs: { clientId: string }[], packet: PublishPacket): Promise<void>;
  outgoingStream(client: { id: string }): AsyncIterable<Queued>;
  outgoingUpdate(client: { id: string }, packet: Queued): Promise<void>;
  outgoingClearMessageId(client: { id: string }, packet: Queued): Promise<unknown>;
}

interface SysEmitter {
  on(topic: string, listener: (packet: { payload: Buffer }, done: () => void) => void): void;
}

/** The packet id a dropped message gets just before it is cleared (see dropOldest). */
const DROP_ID = 65535;

/**
 * Bounds what is queued for an offline persistent session (clean=false): past `maxQueuedMessages` since it
 * went away, the oldest queued message is dropped for each new one. Counted from its disconnect: a session
 * that comes back starts again. Counted in /metrics (mqlive_caps_hit_total{cap="queued_messages"}), logged.
 */
export class QueuedCap {
  private readonly counts = new Map<string, number>();
  private dropping: Promise<void> = Promise.resolve();

  constructor(
    private readonly limits: Pick<Limits, 'maxQueuedMessages'>,
    private readonly metrics: BrokerMetrics,
    private readonly warnings: LogLimiter,
  ) {}

  install(aedes: Aedes): void {
    // Aedes 1.x types declare neither its persistence nor its client table nor its emitter.
    const internals = aedes as unknown as { persistence: OutgoingQueue; clients: Record<string, unknown>; mq: SysEmitter };
    const { persistence, clients } = internals;
    // Clients online at any instance (with --redis, messages for a session online elsewhere are queued here too,
    // and delivered and cleared there): told by every broker's $SYS/{id}/new|disconnect/clients.
    const online = new Set<string>();
    internals.mq.on('$SYS/+/new/clients', (packet, done) => {
      const id = packet.payload.toString();
      online.add(id);
      this.counts.delete(id); // its queue drains now: count again from its next disconnect
      done();
    });
    internals.mq.on('$SYS/+/disconnect/clients', (packet, done) => {
      online.delete(packet.payload.toString());
      done();
    });
    const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
    // Counted as it is queued; only a session over its cap costs the publish more turns (the drop).
    persistence.outgoingEnqueueCombi = (subs, packet) => {
      const queued = enqueue(subs, packet);
      const over: string[] = [];
      for (const { clientId } of subs) {
        if (clients[clientId] || online.has(clientId)) continue; // online: it is being delivered now
        const count = (this.counts.get(clientId) ?? 0) + 1;
        if (count <= this.limits.maxQueuedMessages) this.counts.set(clientId, count);
        else over.push(clientId);
      }
      if (over.length === 0) return queued;
      return queued.then(() => (this.dropping = this.dropping.then(async () => void (await Promise.all(over.map((id) => this.dropOldest(persistence, id)))))));
    };
    aedes.on('client', (client) => this.counts.delete(client.id));
  }

  /**
   * Removes the oldest queued message the way Aedes itself does once one is delivered and acknowledged
   * (outgoingUpdate gives it a packet id, outgoingClearMessageId removes it), so it works on any persistence.
   */
  private async dropOldest(persistence: OutgoingQueue, clientId: string): Promise<void> {
    const client = { id: clientId };
    let oldest: Queued | undefined;
    for await (const packet of persistence.outgoingStream(client)) {
      oldest = packet;
      break;
    }
    if (!oldest) return;
    const marked: Queued = Object.assign(Object.create(Object.getPrototypeOf(oldest)) as Queued, oldest);
    if (!marked.messageId) {
      marked.messageId = DROP_ID;
      await persistence.outgoingUpdate(client, marked);
    }
    await persistence.outgoingClearMessageId(client, marked);
    this.metrics.capsHit.queued_messages += 1;
    this.warnings.warn({ event: 'cap_hit', cap: 'queued', clientId }, `Dropped the oldest queued message for offline session ${printable(clientId)} (limit ${this.limits.maxQueuedMessages}, --max-queued-messages)`);
  }
}

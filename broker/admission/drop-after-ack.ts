import type { Aedes, Client, PublishPacket } from 'aedes';
import { requireInternal } from '../library-internals';

type PublishFn = (packet: PublishPacket, client: Client | null, done: (error?: Error) => void) => void;

/**
 * Lets an admission step refuse a PUBLISH without disconnecting its client. Aedes 1.x's authorizePublish can only
 * accept or disconnect; so a refused packet is accepted there, marked here, and stopped when Aedes hands it to
 * `broker.publish(packet, client, done)` after acknowledging it (lib/handlers/publish.js: QoS 0 at once, QoS 1
 * after PUBACK, QoS 2 after storing it): it is neither forwarded nor retained. publish.test.ts checks that
 * Aedes still calls it that way.
 */
export class DropAfterAck {
  private readonly marked = new WeakSet<PublishPacket>();

  /** Patches this broker's publish(); call once, right after creating it. */
  install(aedes: Aedes): void {
    const mutable = aedes as unknown as { publish: PublishFn };
    requireInternal(typeof mutable.publish === 'function', 'aedes', 'Aedes#publish');
    const publish = mutable.publish.bind(aedes);
    mutable.publish = (packet, client, done) => {
      if (typeof client === 'function') return publish(packet, null, client);
      if (this.marked.has(packet)) return done();
      publish(packet, client, done);
    };
  }

  /** Marks a packet accepted by authorizePublish so that it goes no further. */
  drop(packet: PublishPacket): void {
    this.marked.add(packet);
  }
}

import type { Client, PublishPacket } from 'aedes';
import { idProblem, refusedTopic, type RefusalNotice } from '../../protocol';
import type { Refusal } from './refusal';

/** Topics under this prefix are written by the broker alone (reserved-topic.ts refuses a client's publish). */
export const BROKER_TOPICS = '$mqlive/';

/** A client's own notice topic, or null when its id is not a contract id (it could widen the filter: `+`). */
function ownTopic(clientId: string): string | null {
  return idProblem(clientId) === null ? refusedTopic(clientId) : null;
}

/**
 * MQTT 3.1.1 has no negative acknowledgement, so the broker tells a client of a refused publish on
 * `$mqlive/clients/{clientId}/refused` (protocol/topics.ts), if the client subscribed to it. The notice is
 * written straight to that client (never routed: nobody else can receive it) and before the publish's own
 * PUBACK, so a client knows the outcome when its publish is acknowledged.
 */
export class RefusalNotices {
  /** Whether `filter` (under $mqlive/) may be subscribed by this client: its own notice topic, exactly. */
  static maySubscribe(clientId: string, filter: string): boolean {
    return filter === ownTopic(clientId);
  }

  /** Whether the client subscribed to its notices (then it is told, rather than disconnected, of refusals). */
  listens(client: Client): boolean {
    const topic = ownTopic(client.id);
    const subscriptions = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;
    return topic !== null && subscriptions[topic] !== undefined;
  }

  /** Writes the notice to the client, then calls `then` (which lets Aedes acknowledge the publish). */
  tell(client: Client, packet: PublishPacket, refusal: Refusal, then: () => void): void {
    const notice: RefusalNotice = { topic: packet.topic, reason: refusal.reason, why: refusal.why, ts: Date.now() };
    const message = { cmd: 'publish', topic: ownTopic(client.id)!, payload: Buffer.from(JSON.stringify(notice)), qos: 0, retain: false, dup: false } as PublishPacket;
    client.publish(message, () => then());
  }
}

import type { Client, PublishPacket } from 'aedes';
import { topicMatches } from './security/topic-match';

/**
 * [MQTT-3.8.4-6] a message goes to a subscriber at most at the QoS its subscription was granted. Aedes sends a
 * retained message (on SUBSCRIBE) at its stored QoS, lowered only by a subscription to exactly that topic, so a
 * wildcard subscription at QoS 0 got it at QoS 1; here it is lowered to the highest QoS among the client's
 * matching subscriptions. Live messages Aedes already delivers per subscription at that subscription's QoS.
 * A retained message on a `$` topic goes only to a client with a filter that names its first level.
 */
export function retainedAtGrantedQos<P extends PublishPacket>(client: Client, packet: P): P | null {
  if (!packet.retain) return packet;
  const dollar = packet.topic.charCodeAt(0) === 36;
  if (packet.qos === 0 && !dollar) return packet;
  const subscriptions = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions;
  let granted = -1;
  for (const filter in subscriptions) {
    // [MQTT-4.7.2-1] a filter that starts with a wildcard does not match a topic that starts with '$'.
    if (dollar && (filter.charCodeAt(0) === 35 || filter.charCodeAt(0) === 43)) continue;
    if (topicMatches(filter, packet.topic)) granted = Math.max(granted, subscriptions[filter]!.qos);
  }
  if (granted < 0) return dollar ? null : packet; // Aedes's in-memory retained store hands `#` the `$` topics too
  if (granted >= packet.qos) return packet;
  return { ...packet, qos: granted as 0 | 1 };
}

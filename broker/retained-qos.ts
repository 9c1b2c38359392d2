import type { Client, PublishPacket } from 'aedes';
import { topicMatches } from './security/topic-match';

/**
 * [MQTT-3.8.4-6] a message goes to a subscriber at most at the QoS its subscription was granted. Aedes sends a
 * retained message (on SUBSCRIBE) at its stored QoS, lowered only by a subscription to exactly that topic, so a
 * wildcard subscription at QoS 0 got it at QoS 1; here it is lowered to the highest QoS among the client's
 * matching subscriptions. Live messages Aedes already delivers per subscription at that subscription's QoS.
 */
export function retainedAtGrantedQos<P extends PublishPacket>(client: Client, packet: P): P {
  if (!packet.retain || packet.qos === 0) return packet;
  const subscriptions = (client as unknown as { subscriptions: Record<string, { qos: number }> }).subscriptions;
  let granted = -1;
  for (const filter in subscriptions) if (topicMatches(filter, packet.topic)) granted = Math.max(granted, subscriptions[filter]!.qos);
  if (granted < 0 || granted >= packet.qos) return packet;
  return { ...packet, qos: granted as 0 | 1 };
}

import type { Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';

/** Room for what Aedes may still add to a delivery after this check: one subscription identifier (1 + 4 bytes). */
const ADDED_LATER = 5;

/**
 * Whether a delivery fits the Maximum Packet Size an MQTT 5 client asked for at CONNECT. The broker must not send
 * it a larger packet (MQTT-3.1.2-24): such a message is left out for that client, as Mosquitto does. Aedes's beta
 * only records the value. Encoded to be sized only for a client that set one, and a message near it or with properties.
 */
export function fitsClient(client: Client, packet: PublishPacket): boolean {
  const max = (client as unknown as { maximumPacketSize?: number }).maximumPacketSize;
  if (!max) return true;
  const payloadBytes = typeof packet.payload === 'string' ? Buffer.byteLength(packet.payload) : (packet.payload?.length ?? 0);
  // Without properties a PUBLISH is at most 10 bytes of header and lengths, the topic (3 bytes a character at most) and the payload.
  if (!packet.properties && 10 + ADDED_LATER + packet.topic.length * 3 + payloadBytes <= max) return true;
  const encoded = mqttPacket.generate({ ...packet, cmd: 'publish', ...(packet.qos > 0 && { messageId: 1 }) } as mqttPacket.IPublishPacket, { protocolVersion: 5 });
  return encoded.length + ADDED_LATER <= max;
}

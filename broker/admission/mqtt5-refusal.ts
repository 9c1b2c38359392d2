import type { Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { RejectReason } from '../metrics';
import { reasonString } from '../mqtt5-disconnect';
import type { Refusal } from './refusal';

/** The PUBACK/PUBREC reason code for each refusal (MQTT 5 §3.4.2.1: 0x87 not authorized, 0x90 topic name invalid, 0x97 quota exceeded, 0x99 payload format invalid). */
const ACK_CODES: Record<RejectReason, number> = {
  invalid_payload: 0x99,
  reserved_topic: 0x87,
  not_authorized: 0x87,
  too_large: 0x97,
  bad_topic: 0x90,
  rate_limited: 0x97,
};

/** The DISCONNECT reason code for a refusal that ends the connection (§3.14.2.1: 0x96 message rate too high). */
const DISCONNECT_CODES: Record<RejectReason, number> = { ...ACK_CODES, rate_limited: 0x96 };

interface Mqtt5Client {
  conn: NodeJS.WritableStream;
  /** False when the client asked for no reason strings (Request Problem Information 0, MQTT-3.1.2-29). */
  _requestProblemInformation?: boolean;
  disconnect: (options: { reasonCode: number; properties?: { reasonString: string } }, done?: () => void) => void;
}

interface RefusedPacket extends PublishPacket {
  /** Aedes's mark for a publish its authorizePublish refused: Aedes then neither acknowledges nor stores it. */
  _notAuthorized?: boolean;
}

/**
 * An MQTT 5 client is told why its PUBLISH was refused: a QoS 1 or 2 publish gets a PUBACK or PUBREC with the
 * reason code and (unless it asked for none) a reason string; a refusal that ends the connection is a DISCONNECT
 * with its code. Either way the message goes no further: Aedes's `_notAuthorized` mark (lib/handlers/publish.js)
 * stops its own acknowledgement, and `drop` stops the publish itself.
 */
export function refuseMqtt5Publish(client: Client, packet: PublishPacket, refusal: Refusal, drop: (packet: PublishPacket) => void): void {
  const c = client as unknown as Mqtt5Client;
  (packet as RefusedPacket)._notAuthorized = true;
  drop(packet);
  const properties = c._requestProblemInformation === false ? undefined : { reasonString: reasonString(refusal.why) };
  if (refusal.disconnect) return c.disconnect({ reasonCode: DISCONNECT_CODES[refusal.reason], ...(properties && { properties }) });
  if (packet.qos === 0) return;
  const ack = { cmd: packet.qos === 1 ? 'puback' : 'pubrec', messageId: packet.messageId, reasonCode: ACK_CODES[refusal.reason], ...(properties && { properties }) } as mqttPacket.Packet;
  mqttPacket.writeToStream(ack, c.conn, { protocolVersion: 5 });
}

import mqttPacket from 'mqtt-packet';

/** Why, as an MQTT 5 reason string: the first 200 characters, enough to read and small beside any packet limit. */
export function reasonString(why: string): string {
  return why.slice(0, 200);
}

/** An MQTT 5 DISCONNECT from the broker: its reason code, and why in a reason string. */
export function disconnectPacket(reasonCode: number, why: string): Buffer {
  return mqttPacket.generate({ cmd: 'disconnect', reasonCode, properties: { reasonString: reasonString(why) } }, { protocolVersion: 5 });
}

interface ClientWithConnection {
  version?: number | null;
  conn?: unknown;
}

/**
 * Tells an MQTT 5 client why the broker is about to close its connection, where Aedes will close it on an error
 * (a cap a hook refuses with a throw): written straight to mqlive's connection, which sends what it holds before it
 * ends, since a packet Aedes writes at that moment can be dropped with the stream.
 */
export function tellMqtt5Disconnect(client: ClientWithConnection, reasonCode: number, why: string): void {
  if (client.version !== 5) return;
  const conn = client.conn as { writePacket?: (bytes: Buffer) => void } | undefined;
  conn?.writePacket?.(disconnectPacket(reasonCode, why));
}

/** An MQTT 5 client silent for 1.5 times its keep alive is told so (0x8D) before Aedes closes it (MQTT-3.1.2-22). */
export function tellKeepAliveTimeouts(aedes: { on(event: 'keepaliveTimeout', listener: (client: ClientWithConnection) => void): unknown }): void {
  aedes.on('keepaliveTimeout', (client) => tellMqtt5Disconnect(client, 0x8d, 'nothing received within 1.5 times the keep alive'));
}

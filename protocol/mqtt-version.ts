import type { MqttClient } from 'mqtt';

/** Which MQTT a client speaks: `auto` is MQTT 5, and 3.1.1 from the moment a broker refuses 5. */
export const PROTOCOLS = ['auto', '5', '3.1.1'] as const;
export type ProtocolChoice = (typeof PROTOCOLS)[number];

export function isProtocolChoice(value: string): value is ProtocolChoice {
  return (PROTOCOLS as readonly string[]).includes(value);
}

/** The one line a command prints when `auto` falls back. */
export function fallbackLine(url: string): string {
  return `The broker at ${url} refused MQTT 5: speaking MQTT 3.1.1 to it`;
}

/** MQTT.js's protocolVersion for a choice: 5 for auto (it falls back, see fallBackTo311). */
export function protocolVersionFor(choice: ProtocolChoice): 4 | 5 {
  return choice === '3.1.1' ? 4 : 5;
}

/** CONNACK codes that mean "not this protocol version": a 3.1.1 broker's 1, an MQTT 5 broker's 0x84. */
const UNSUPPORTED_VERSION = new Set([1, 0x84]);

/** Refusals that `fallBackTo311` answers by falling back: no problem to report (its one line says what happened). */
const fallingBack = new WeakSet<Error>();

export function leadsToFallback(error: Error): boolean {
  return fallingBack.has(error);
}

/**
 * For `auto`: when the broker refuses MQTT 5, the client speaks MQTT 3.1.1 from then on (this connection and every
 * reconnect) and `onFallback` is told once. The switch waits for the refused connection to close, then
 * reconnects at once, so there is never a second connection with the same client id.
 */
export function fallBackTo311(client: MqttClient, onFallback: () => void): void {
  let refused = false;
  client.on('error', (error) => {
    if (client.options.protocolVersion !== 5 || !UNSUPPORTED_VERSION.has((error as { code?: number }).code ?? -1)) return;
    refused = true;
    fallingBack.add(error);
  });
  client.on('close', () => {
    if (!refused) return;
    refused = false;
    client.options.protocolVersion = 4;
    onFallback();
    // Its own stores kept: reconnect() would start it with empty ones.
    client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
  });
}

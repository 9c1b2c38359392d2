import { hexCode, reasonName } from '../../../../protocol/mqtt5-reasons';
import { printable } from '../../../../protocol/printable';
import { clip } from './payload-format';

/**
 * MQTT 5 for the page, as text: reason codes of refusals, a message's properties to show, and the Publish
 * panel's fields as properties to send. Everything here ends up as text in the page (never HTML).
 */

/** Characters of a broker's reason string, or of one property value, shown at most. */
export const SHOWN_CHARS = 500;

/** "0x87 Not authorized — the reason string" (the reason string made printable and clipped; left out when none). */
export function refusalText(code: number, reasonString?: string): string {
  const name = reasonName(code);
  const reason = reasonString ? ` — ${clip(printable(reasonString), SHOWN_CHARS)}` : '';
  return `${hexCode(code)} ${name}${reason}`;
}

/** The MQTT 5 properties of a received PUBLISH that the page shows (MQTT.js's names). */
export interface ReceivedProperties {
  userProperties?: Record<string, string | string[]>;
  contentType?: string;
  payloadFormatIndicator?: boolean;
  responseTopic?: string;
  correlationData?: Uint8Array;
  messageExpiryInterval?: number;
}

/** One property of a message as its page shows it: `user` for a user property (name is its key). */
export interface PropertyLine {
  name: string;
  value: string;
  user: boolean;
}

const shown = (text: string) => clip(printable(text), SHOWN_CHARS);

/** Correlation data as text when it is printable UTF-8, else as hex bytes. */
export function bytesText(bytes: Uint8Array): string {
  let text: string | null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null;
  }
  if (text !== null && printable(text) === text) return clip(text, SHOWN_CHARS);
  const hex = [...bytes.subarray(0, SHOWN_CHARS / 3)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `hex ${hex}${bytes.length > SHOWN_CHARS / 3 ? ` … (${bytes.length} bytes)` : ''}`;
}

/** A message's properties, in the order the page lists them; none for a message without any (MQTT 3.1.1). */
export function propertyLines(properties: ReceivedProperties | undefined): PropertyLine[] {
  if (!properties) return [];
  const lines: PropertyLine[] = [];
  const add = (name: string, value: string) => lines.push({ name, value, user: false });
  if (properties.contentType !== undefined) add('Content type', shown(properties.contentType));
  if (properties.payloadFormatIndicator !== undefined) add('Payload format', properties.payloadFormatIndicator ? 'UTF-8 text' : 'bytes (unspecified)');
  if (properties.responseTopic !== undefined) add('Response topic', shown(properties.responseTopic));
  if (properties.correlationData !== undefined) add('Correlation data', bytesText(properties.correlationData));
  if (properties.messageExpiryInterval !== undefined) add('Message expiry', `${properties.messageExpiryInterval} s left when it came`);
  for (const [key, values] of Object.entries(properties.userProperties ?? {})) {
    for (const value of [values].flat()) lines.push({ name: shown(key), value: shown(String(value)), user: true });
  }
  return lines;
}

/** The Publish panel's MQTT 5 fields, as typed (empty: not sent). */
export interface PublishFields {
  userProperties: [string, string][];
  contentType: string;
  responseTopic: string;
  correlationData: string;
  /** Seconds, as typed. */
  messageExpiry: string;
}

/** The properties of an MQTT 5 PUBLISH (MQTT.js's names), all optional. */
export interface PublishProperties {
  userProperties?: Record<string, string[]>;
  contentType?: string;
  responseTopic?: string;
  correlationData?: string;
  messageExpiryInterval?: number;
}

/** Largest message expiry interval MQTT 5 can carry (a four-byte integer). */
const MAX_EXPIRY_S = 0xffffffff;

/** The fields as properties to send, or the reason a person reads why they cannot be. Rows with an empty name are left out. */
export function publishProperties(fields: PublishFields): { properties: PublishProperties } | { problem: string } {
  const properties: PublishProperties = {};
  for (const [key, value] of fields.userProperties) {
    if (key === '' && value === '') continue;
    if (key === '') return { problem: `a user property needs a name (its value is "${value}")` };
    (properties.userProperties ??= {})[key] = [...(properties.userProperties[key] ?? []), value];
  }
  if (fields.contentType !== '') properties.contentType = fields.contentType;
  if (fields.responseTopic !== '') {
    if (/[+#]/.test(fields.responseTopic)) return { problem: 'a response topic cannot hold the wildcards + or #' };
    properties.responseTopic = fields.responseTopic;
  }
  if (fields.correlationData !== '') properties.correlationData = fields.correlationData;
  const expiry = fields.messageExpiry.trim();
  if (expiry !== '') {
    const seconds = Number(expiry);
    if (!/^\d+$/.test(expiry) || seconds < 1 || seconds > MAX_EXPIRY_S) return { problem: `the message expiry is a whole number of seconds from 1 to ${MAX_EXPIRY_S}` };
    properties.messageExpiryInterval = seconds;
  }
  return { properties };
}

/** Whether a PublishProperties has anything in it. */
export function hasProperties(properties: PublishProperties | undefined): boolean {
  return properties !== undefined && Object.keys(properties).length > 0;
}

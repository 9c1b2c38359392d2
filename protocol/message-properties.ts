/**
 * The MQTT 5 properties of a message that mean something to whoever gets it next, and that a broker forwards
 * unchanged: what recordings keep and replay sends back. Not the ones of one hop (topic alias, subscription
 * identifier). Their limits are mqlive's broker's (broker/admission/publish-properties.ts imports them from here).
 *
 * Pure (no Node-only or DOM-only module): the viewer bundles it.
 */

/** User properties one MQTT 5 message may carry: each is kept, queued, retained and sent to every subscriber. */
export const MAX_USER_PROPERTIES = 32;
/** Bytes of properties one message may carry (user properties, content type, response topic, correlation data). */
export const MAX_PROPERTY_BYTES = 16 * 1024;

/** A user property's value: one string, or several for a name given more than once (MQTT.js's form). */
export type UserProperties = Record<string, string | string[]>;

export interface MessageProperties {
  contentType?: string;
  /** true: the payload is UTF-8 text. */
  payloadFormatIndicator?: boolean;
  /** Seconds the message stays worth delivering (as the recorder got it: a broker counts it down). */
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: Uint8Array;
  userProperties?: UserProperties;
}

/** The forward-meaningful properties, in the order a recording writes them. */
export const MESSAGE_PROPERTY_NAMES = ['contentType', 'payloadFormatIndicator', 'messageExpiryInterval', 'responseTopic', 'correlationData', 'userProperties'] as const;

/** The largest message expiry interval: a four-byte integer of seconds. */
export const MAX_EXPIRY_SECONDS = 0xffff_ffff;

/**
 * The forward-meaningful properties of a received message (MQTT.js's `packet.properties`), or undefined when it
 * has none. The values are taken as they are; check them with propertiesProblem.
 */
export function forwardProperties(properties: Record<string, unknown> | undefined): MessageProperties | undefined {
  if (!properties) return undefined;
  const out: Record<string, unknown> = {};
  let any = false;
  for (const name of MESSAGE_PROPERTY_NAMES) {
    if (properties[name] === undefined) continue;
    out[name] = properties[name];
    any = true;
  }
  return any ? (out as MessageProperties) : undefined;
}

const encoder = new TextEncoder();

/** A UTF-16 surrogate without its other half: no UTF-8 encoding of it exists. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string is not an MQTT UTF-8 string (MQTT 5 §1.5.4: valid Unicode, no U+0000), or null. */
export function mqttStringProblem(value: string): string | null {
  if (value.includes('\u0000')) return 'has a NUL character';
  if (LONE_SURROGATE.test(value)) return 'is not valid Unicode (a lone surrogate)';
  return null;
}

/**
 * Why properties of the right types could not be carried by mqlive's broker, or null: strings MQTT cannot
 * carry, a response topic that is not a topic name, an expiry out of range, more than MAX_USER_PROPERTIES user
 * properties or MAX_PROPERTY_BYTES bytes (counted as the broker counts them).
 */
export function propertiesProblem(properties: MessageProperties): string | null {
  const { contentType, messageExpiryInterval, responseTopic, correlationData, userProperties } = properties;
  let bytes = 0;
  if (contentType !== undefined) {
    const problem = mqttStringProblem(contentType);
    if (problem) return `"contentType" ${problem}`;
    bytes += encoder.encode(contentType).length;
  }
  if (messageExpiryInterval !== undefined && !(Number.isInteger(messageExpiryInterval) && messageExpiryInterval >= 0 && messageExpiryInterval <= MAX_EXPIRY_SECONDS)) {
    return `"messageExpiryInterval" must be whole seconds from 0 to ${MAX_EXPIRY_SECONDS}`;
  }
  if (responseTopic !== undefined) {
    if (responseTopic === '' || /[+#]/.test(responseTopic)) return '"responseTopic" must be a topic name: not empty, no + or #';
    const problem = mqttStringProblem(responseTopic);
    if (problem) return `"responseTopic" ${problem}`;
    bytes += encoder.encode(responseTopic).length;
  }
  if (correlationData !== undefined) bytes += correlationData.length;
  if (userProperties !== undefined) {
    let count = 0;
    for (const name of Object.keys(userProperties)) {
      const nameProblem = mqttStringProblem(name);
      if (nameProblem) return `a user property name ${nameProblem}`;
      const values = userProperties[name]!;
      for (const value of Array.isArray(values) ? values : [values]) {
        count += 1;
        if (count > MAX_USER_PROPERTIES) return `more than ${MAX_USER_PROPERTIES} user properties`;
        const valueProblem = mqttStringProblem(value);
        if (valueProblem) return `the user property ${JSON.stringify(name.slice(0, 40))} ${valueProblem}`;
        bytes += encoder.encode(name).length + encoder.encode(value).length;
      }
      if (bytes > MAX_PROPERTY_BYTES) break;
    }
  }
  return bytes > MAX_PROPERTY_BYTES ? `properties of more than ${MAX_PROPERTY_BYTES} bytes` : null;
}

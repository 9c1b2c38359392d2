import type { IClientPublishOptions, MqttClient, Packet } from 'mqtt';
import { validateRefusalNotice, type RefusalNotice } from '../../../../protocol';
import { ProblemError, type Problem } from '../problems';
import { hasProperties, type PublishProperties } from '../state/mqtt5';

const PUBLISH_TIMEOUT_MS = 5000;
/** Notices held for a publish still waiting for its outcome; older ones go first. */
const HELD_NOTICES = 100;

export interface PublishRequest {
  topic: string;
  /** Text as typed (UTF-8 on the wire); empty clears a retained message when `retain` is set. */
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  /** MQTT 5 properties (publish-properties in state/mqtt5.ts); only over MQTT 5. */
  properties?: PublishProperties;
}

/**
 * The broker's refusal notices for this client (`$mqlive/clients/{id}/refused`), by refused topic. mqlive's
 * broker writes a notice before the PUBACK of the publish it refuses, so when a QoS 1 publish is acknowledged
 * its notice, if any, is here already. Other brokers send none: their refusals stay silent.
 */
export class RefusalWatch {
  private readonly held = new Map<string, RefusalNotice>();

  /** A message on this client's notice topic; a payload that is not a notice is ignored. */
  note(payload: Uint8Array): RefusalNotice | null {
    let notice: unknown;
    try {
      notice = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return null;
    }
    if (validateRefusalNotice(notice) !== null) return null;
    const { topic, reason, why, ts } = notice as RefusalNotice;
    this.held.delete(topic);
    this.held.set(topic, { topic, reason, why, ts });
    if (this.held.size > HELD_NOTICES) this.held.delete(this.held.keys().next().value!);
    return this.held.get(topic)!;
  }

  /** Takes the notice about `topic` heard since `forget(topic)`, if any. */
  take(topic: string): RefusalNotice | undefined {
    const notice = this.held.get(topic);
    this.held.delete(topic);
    return notice;
  }

  forget(topic: string): void {
    this.held.delete(topic);
  }
}

/** Why a topic cannot be published to, or null: MQTT forbids wildcards and empty topics in a PUBLISH. */
export function topicProblem(topic: string): Problem | null {
  if (topic === '') return { code: 'topic-empty' };
  if (topic.includes('+') || topic.includes('#')) return { code: 'topic-wildcard' };
  if (topic.startsWith('$')) return { code: 'topic-system' };
  return null;
}

/** An MQTT 5 PUBACK or PUBREC with a reason code of 0x80 or more, as MQTT.js reports it. */
interface RefusedAck extends Error {
  code?: number;
  packet?: Packet;
}

/** MQTT.js's publish as a promise that keeps the refusing acknowledgement (its publishAsync drops the packet). */
function publishAcked(client: MqttClient, request: PublishRequest): Promise<void> {
  const options: IClientPublishOptions = { qos: request.qos, retain: request.retain };
  if (hasProperties(request.properties)) {
    if (client.options.protocolVersion !== 5) return Promise.reject(new ProblemError({ code: 'no-properties' }));
    // Correlation data as typed: mqtt-packet writes a string as its UTF-8 bytes (writeStringOrBuffer), no Buffer needed.
    options.properties = request.properties as IClientPublishOptions['properties'];
  }
  return new Promise((resolve, reject) => {
    client.publish(request.topic, request.payload, options, (error, packet) => (error ? reject(Object.assign(error, { packet })) : resolve()));
  });
}

/**
 * Publishes and tells the outcome: resolves once the broker took it (QoS 1: acknowledged; QoS 0: sent),
 * rejects with its problem, 'refused' when the broker said so: an MQTT 5 broker with its reason code and
 * string (PUBACK 0x87 …); 'refused-notice' when mqlive's broker told it only in its notice.
 */
export async function publishTold(client: MqttClient, request: PublishRequest, refusals: RefusalWatch): Promise<void> {
  const problem = topicProblem(request.topic);
  if (problem) throw new ProblemError(problem);
  refusals.forget(request.topic);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProblemError({ code: 'not-acknowledged' })), PUBLISH_TIMEOUT_MS);
  });
  try {
    await Promise.race([publishAcked(client, request), timeout]);
  } catch (error) {
    const { code, packet } = error as RefusedAck;
    if (typeof code === 'number' && code >= 0x80) {
      const reasonString = (packet as { properties?: { reasonString?: string } } | undefined)?.properties?.reasonString;
      throw new ProblemError({ code: 'refused', reasonCode: code, ...(reasonString !== undefined && { reasonString }) });
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const notice = request.qos === 1 ? refusals.take(request.topic) : undefined;
  if (notice) throw new ProblemError({ code: 'refused-notice', why: notice.why });
}

import type { MqttClient } from 'mqtt';
import { validateRefusalNotice, type RefusalNotice } from '../../../../protocol';

const PUBLISH_TIMEOUT_MS = 5000;
/** Notices held for a publish still waiting for its outcome; older ones go first. */
const HELD_NOTICES = 100;

export interface PublishRequest {
  topic: string;
  /** Text as typed (UTF-8 on the wire); empty clears a retained message when `retain` is set. */
  payload: string;
  qos: 0 | 1;
  retain: boolean;
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
export function topicProblem(topic: string): string | null {
  if (topic === '') return 'the topic is empty';
  if (topic.includes('+') || topic.includes('#')) return 'a topic to publish to cannot hold the wildcards + or #';
  if (topic.startsWith('$')) return 'topics starting with $ are the broker\'s own';
  return null;
}

/**
 * Publishes and tells the outcome: resolves once the broker took it (QoS 1: acknowledged; QoS 0: sent),
 * rejects with a reason a person can read, "refused by the broker: …" when mqlive's broker said so.
 */
export async function publishTold(client: MqttClient, request: PublishRequest, refusals: RefusalWatch): Promise<void> {
  const problem = topicProblem(request.topic);
  if (problem) throw new Error(problem);
  refusals.forget(request.topic);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the broker did not acknowledge the message')), PUBLISH_TIMEOUT_MS);
  });
  try {
    await Promise.race([client.publishAsync(request.topic, request.payload, { qos: request.qos, retain: request.retain }), timeout]);
  } finally {
    clearTimeout(timer);
  }
  const notice = request.qos === 1 ? refusals.take(request.topic) : undefined;
  if (notice) throw new Error(`refused by the broker: ${notice.why}`);
}

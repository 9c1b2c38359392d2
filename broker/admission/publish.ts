import type { Client, PublishPacket } from 'aedes';
import type { Limits } from '../security/limits';
import type { Identity, Rights } from '../security/rights';
import { contract } from './contract';
import { publishProperties } from './publish-properties';
import { PublishRate } from './rate';
import type { Refusal } from './refusal';
import { reservedTopic } from './reserved-topic';
import { PublishRights } from './rights';
import { topicShape } from './topic-shape';

export interface PublishAdmitted {
  refusal: null;
  reply?: { from: string; text: string };
}

/**
 * A will topic is a topic name, as a PUBLISH's is: not empty and no wildcards (MQTT-4.7.3-1, MQTT-3.3.2-2). Aedes
 * checks a PUBLISH's topic but not a will's, and a will on `devices/x/#` or `` would be published, and retained,
 * where nobody can clear it.
 */
function willTopicName(topic: string): Refusal | null {
  if (topic === '') return { reason: 'bad_topic', why: 'a will topic may not be empty', disconnect: true }; // MQTT-4.7.3-1
  return /[+#]/.test(topic) ? { reason: 'bad_topic', why: 'a will topic may not hold the wildcards + or #', disconnect: true } : null;
}

/**
 * A client's PUBLISH goes through these steps in order; the first refusal decides:
 * reserved topic ($SYS/), topic shape (length, depth), rate, rights, MQTT 5 properties, contract (ids, payloads, size).
 * A new step is one more small module here, with its own test.
 */
export class PublishAdmission {
  private readonly rate: PublishRate;
  private readonly rights: PublishRights;

  constructor(
    private readonly limits: Limits,
    private readonly allRights: Rights,
    isTold: (client: Client) => boolean = () => false,
    now: () => number = Date.now,
  ) {
    this.rate = new PublishRate(limits, now);
    this.rights = new PublishRights(allRights, limits.maxRefusedPublishes, isTold);
  }

  admit(client: Client, identity: Identity | undefined, packet: PublishPacket): PublishAdmitted | { refusal: Refusal } {
    const refusal = this.firstRefusal(client, identity, packet, true);
    if (refusal) return { refusal };
    return contract(packet, this.limits) as PublishAdmitted | { refusal: Refusal };
  }

  /** A will goes through the same steps as a publish, but the rate: refused here, the client may not leave it. */
  admitWill(client: Client, identity: Identity, will: PublishPacket): Refusal | null {
    return willTopicName(will.topic) ?? this.firstRefusal(client, identity, will, false) ?? (contract(will, this.limits) as PublishAdmitted | { refusal: Refusal }).refusal;
  }

  /** The steps before the contract, in order; the first refusal decides. */
  private firstRefusal(client: Client, identity: Identity | undefined, packet: PublishPacket, countRate: boolean): Refusal | null {
    return (
      reservedTopic(packet.topic) ??
      topicShape(packet.topic, this.limits) ??
      (countRate ? this.rate.check(client) : null) ??
      this.rights.check(client, identity, packet.topic) ??
      publishProperties(packet, identity, this.allRights, this.limits)
    );
  }
}

import type { PublishPacket } from 'aedes';
import { checkMessage } from '../../protocol';
import type { Limits } from '../security/limits';
import type { Refusal } from './refusal';

export interface ContractResult {
  refusal: Refusal | null;
  /** A reply on `clients/{id}/messages` that passed, for the broker to print. */
  reply?: { from: string; text: string };
}

/**
 * A publish on a contract topic must carry a valid id and payload, within `maxContractPayloadBytes`, or be an
 * empty retained payload on a retained topic (status, meta), which clears it (who may is the rights' step);
 * one that does not is dropped (not forwarded nor retained) and the client stays. A reply is never retained. Free-form
 * topics pass as they are.
 */
export function contract(packet: PublishPacket, limits: Pick<Limits, 'maxContractPayloadBytes'>): ContractResult {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  const result = checkMessage(packet.topic, payload);
  const drop = (reason: Refusal['reason'], why: string): ContractResult => ({ refusal: { reason, why, disconnect: false } });
  if (result.topic && payload.length > limits.maxContractPayloadBytes) {
    return drop('too_large', `payload of ${payload.length} bytes on a contract topic (limit ${limits.maxContractPayloadBytes})`);
  }
  if (!result.ok) return drop('invalid_payload', result.reason);
  if (result.cleared && !packet.retain) return drop('invalid_payload', 'an empty payload only clears a retained message: publish it with the retain flag');
  if (result.topic?.kind === 'clientMessage') {
    packet.retain = false; // the contract: replies are not retained
    return { refusal: null, reply: { from: result.topic.clientId, text: (result.payload as { text: string }).text } };
  }
  return { refusal: null };
}

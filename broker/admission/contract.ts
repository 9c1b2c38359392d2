import type { PublishPacket } from 'aedes';
import { checkMessage, matchContract } from '../../protocol';
import type { Limits } from '../security/limits';
import { isPlainValidMove } from './plain-move';
import type { Refusal } from './refusal';

export interface ContractResult {
  refusal: Refusal | null;
  /** A reply on `clients/{id}/messages` that passed, for the broker to print. */
  reply?: { from: string; text: string };
}

const ADMITTED: ContractResult = Object.freeze({ refusal: null });

/**
 * A publish on a contract topic must carry a valid id and payload, within `maxContractPayloadBytes`, or be an
 * empty retained payload on a retained topic (status, meta), which clears it (who may is the rights' step); one
 * that does not is dropped (not forwarded nor retained) and the client stays. A reply is never retained. Free-form
 * topics pass as they are. A plainly written valid move, most of the traffic, is recognised from its bytes
 * (plain-move.ts); every other publish gets the full check, with the same verdict.
 */
export function contract(packet: PublishPacket, limits: Pick<Limits, 'maxContractPayloadBytes'>): ContractResult {
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  if (payload.length <= limits.maxContractPayloadBytes && isPlainValidMove(packet.topic, payload)) return ADMITTED;
  return fullContract(packet, payload, limits);
}

/** The contract check by decoding and validating (protocol/contract.ts), for every publish. */
export function fullContract(packet: PublishPacket, payload: Buffer, limits: Pick<Limits, 'maxContractPayloadBytes'>): ContractResult {
  const drop = (reason: Refusal['reason'], why: string): ContractResult => ({ refusal: { reason, why, disconnect: false } });
  // The size first: nothing larger than the cap is decoded at all.
  if (payload.length > limits.maxContractPayloadBytes && matchContract(packet.topic)) {
    return drop('too_large', `payload of ${payload.length} bytes on a contract topic (limit ${limits.maxContractPayloadBytes})`);
  }
  const result = checkMessage(packet.topic, payload);
  if (!result.ok) return drop('invalid_payload', result.reason);
  if (result.cleared && !packet.retain) return drop('invalid_payload', 'an empty payload only clears a retained message: publish it with the retain flag');
  if (result.pattern === 'clients/+/messages') {
    packet.retain = false; // the contract: replies are not retained
    return { refusal: null, reply: { from: result.topic.clientId, text: result.payload.text } };
  }
  return { refusal: null };
}

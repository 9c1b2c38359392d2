import type { PublishPacket } from 'aedes';
import { describe, expect, it } from 'vitest';
import { contract } from './contract';

const publish = (topic: string, payload: string, retain = false): PublishPacket => ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false }) as PublishPacket;
const limits = { maxContractPayloadBytes: 100 };

describe('contract', () => {
  it('drops bad or oversized payloads on contract topics, keeps the client, passes free-form topics', () => {
    expect(contract(publish('devices/x/status', 'maybe'), limits).refusal).toMatchObject({ reason: 'invalid_payload', disconnect: false });
    expect(contract(publish('devices/x/status', 'x'.repeat(101)), limits).refusal).toMatchObject({ reason: 'too_large' });
    expect(contract(publish('devices/x/status', 'online'), limits)).toEqual({ refusal: null });
    expect(contract(publish('home/anything', 'whatever'), limits)).toEqual({ refusal: null });
  });

  it('lets an empty retained payload clear status or meta; without the retain flag it is dropped', () => {
    expect(contract(publish('devices/x/status', '', true), limits)).toEqual({ refusal: null });
    expect(contract(publish('devices/x/meta', '', true), limits)).toEqual({ refusal: null });
    expect(contract(publish('devices/x/status', ''), limits).refusal).toMatchObject({ reason: 'invalid_payload', why: expect.stringMatching(/retain flag/) });
    expect(contract(publish('devices/x/mouse/click', '', true), limits).refusal).toMatchObject({ reason: 'invalid_payload' });
  });

  it('hands back a valid reply for the broker to print', () => {
    expect(contract(publish('clients/v1/messages', JSON.stringify({ text: 'hi', ts: 1 })), limits)).toEqual({ refusal: null, reply: { from: 'v1', text: 'hi' } });
  });

  it('checks the size before decoding, and refuses deep nesting under a raised cap without throwing', () => {
    const deep = `{"text":${'['.repeat(30_000)}${']'.repeat(30_000)},"ts":1}`;
    expect(contract(publish('clients/v1/messages', deep), limits).refusal).toMatchObject({ reason: 'too_large' });
    const raised = { maxContractPayloadBytes: 1024 * 1024 };
    for (const topic of ['clients/v1/messages', 'devices/d/mouse/click', 'devices/d/meta']) {
      expect(contract(publish(topic, deep), raised).refusal).toMatchObject({ reason: 'invalid_payload', why: expect.stringMatching(/nested deeper than/) });
    }
  });
});

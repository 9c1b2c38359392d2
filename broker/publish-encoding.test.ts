import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodePublish, type PublishFields } from './publish-encoding';

// Every class that changes the bytes: QoS (message id or not), retain, dup, the topic's length (and multi-byte
// UTF-8), and the remaining length's byte count (1 to 4 bytes: boundaries at 128, 16,384 and 2,097,152).
const topics = ['a', 'devices/laptop/mouse/move', 'é/ü/😀', 't'.repeat(127), 't'.repeat(128), 'x'.repeat(300), 'y'.repeat(65_535)];
const payloadSizes = [0, 1, 80, 123, 124, 125, 126, 127, 128, 1024, 16_380, 16_383, 16_384, 100_000, 2_097_148, 2_097_152];

function reference(p: PublishFields): Buffer {
  const { protocolVersion = 4, ...packet } = p;
  return mqttPacket.generate({ cmd: 'publish', ...packet } as mqttPacket.IPublishPacket, { protocolVersion });
}

describe('encodePublish', () => {
  for (const [qos, protocolVersion] of [[0, 4], [1, 4], [2, 4], [0, 5], [1, 5]] as const) {
    for (const retain of [false, true]) {
      for (const dup of [false, true]) {
        it(`matches mqtt-packet byte for byte: MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}, QoS ${qos}, retain ${retain}, dup ${dup}, every topic and payload size class`, () => {
          let checked = 0;
          for (const topic of topics) {
            for (const size of payloadSizes) {
              if (topic.length > 1000 && size > 1024) continue; // the long topic once per small payload is enough
              const payload = Buffer.alloc(size, size % 251);
              const p: PublishFields = { topic, payload, qos, retain, dup, protocolVersion, ...(qos > 0 && { messageId: (size % 65_535) + 1 }) };
              expect(encodePublish(p)!.equals(reference(p))).toBe(true);
              checked += 1;
            }
          }
          // A payload given as a string (the broker's own publishes), with multi-byte characters.
          const text: PublishFields = { topic: 'devices/x/status', payload: 'online ✓', qos, retain, dup, protocolVersion, ...(qos > 0 && { messageId: 65_535 }) };
          expect(encodePublish(text)!.equals(reference(text))).toBe(true);
          expect(checked).toBeGreaterThan(90);
        });
      }
    }
  }

  it('leaves to the normal path what it cannot encode: QoS > 0 without a valid message id, an over-long topic', () => {
    expect(encodePublish({ topic: 'a', payload: Buffer.alloc(1), qos: 1, retain: false, dup: false })).toBeUndefined();
    expect(encodePublish({ topic: 'a', payload: Buffer.alloc(1), qos: 2, retain: false, dup: false, messageId: 70_000 })).toBeUndefined();
    expect(encodePublish({ topic: 'z'.repeat(65_536), payload: Buffer.alloc(1), qos: 0, retain: false, dup: false })).toBeUndefined();
  });
});

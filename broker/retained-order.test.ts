import { describe, expect, it } from 'vitest';
import { startTestBrokerFor } from '../test-support/broker';
import { Inbox, RETAINED_MARKER, retainedOn, subscribe } from '../test-support/mqtt';
import { teardownAfterEach } from '../test-support/teardown';

// Tests show that no more retained messages come by a marker asked for last in the same SUBSCRIBE
// (test-support/mqtt.ts retainedOn), not by a pause. This holds Aedes, and mqlive's delivery around it, to the
// order that rests on: a SUBSCRIBE's retained messages are sent filter by filter, in the packet's order.
const teardown = teardownAfterEach();
const N = 200;

async function brokerWithRetained(transport: 'tcp' | 'ws') {
  const env = await startTestBrokerFor(teardown);
  const publisher = await env.connect(transport);
  // QoS 0 and 1 mixed: mqlive writes QoS 0 deliveries itself (qos0-delivery.ts), Aedes writes the others.
  for (let i = 0; i < N; i++) await publisher.publishAsync(`order/${i}`, String(i), { qos: (i % 2) as 0 | 1, retain: true });
  await publisher.publishAsync(RETAINED_MARKER, 'marker', { qos: 1, retain: true });
  return env;
}

describe('retained messages on SUBSCRIBE come filter by filter', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    for (const qos of [0, 1] as const) {
      it(`a marker asked for last comes after all ${N} retained messages of the filters before it (${transport}, subscribed at QoS ${qos})`, async () => {
        const env = await brokerWithRetained(transport);
        const late = await env.connect(transport);
        const inbox = new Inbox(late);
        await subscribe(late, ['order/#', RETAINED_MARKER], qos);
        await inbox.waitFor((m) => m.topic === RETAINED_MARKER);
        const topics = inbox.messages.map((m) => m.topic);
        expect(topics.at(-1)).toBe(RETAINED_MARKER);
        expect(new Set(topics.slice(0, -1))).toEqual(new Set(Array.from({ length: N }, (_, i) => `order/${i}`)));
        expect(topics).toHaveLength(N + 1);
      });
    }

    it(`asked for first, the marker comes first: the order follows the filters, so the check above can fail (${transport})`, async () => {
      const env = await brokerWithRetained(transport);
      const late = await env.connect(transport);
      const inbox = new Inbox(late);
      await subscribe(late, [RETAINED_MARKER, 'order/#']);
      await inbox.waitForCount(`order/${N - 1}`, 1);
      expect(inbox.messages[0]!.topic).toBe(RETAINED_MARKER);
      expect(inbox.messages).toHaveLength(N + 1);
    });
  }

  it('retainedOn: every retained message of the filters, the marker left out; a marker the filters match comes twice', async () => {
    const env = await brokerWithRetained('tcp');
    const all = await retainedOn(await env.connect('tcp'), 'order/#');
    const texts = Array.from({ length: N }, (_, i) => String(i)).sort();
    expect(all.map((m) => m.text).sort()).toEqual(texts);
    const known = await retainedOn(await env.connect('tcp'), ['order/#'], `order/${N - 1}`);
    expect(known.map((m) => m.text).sort()).toEqual(texts);
    expect(await retainedOn(await env.connect('tcp'), 'nothing/#')).toEqual([]);
  });
});

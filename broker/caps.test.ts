import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { type TestBroker, startTestBrokerFor, type TestBrokerOptions } from '../test-support/broker';
import { Inbox, retainedOn, subscribe, type Received } from '../test-support/mqtt';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 14, finding 8, replayed small: retained topics, an offline session's queue and one client's
// subscriptions were unbounded. Each cap is checked by counts and /metrics.
let env: TestBroker;
const teardown = teardownAfterEach();

async function start(options: TestBrokerOptions = {}) {
  env = await startTestBrokerFor(teardown, options);
  return env;
}

const metrics = async () => (await fetch(env.broker.httpUrl + 'metrics')).text();

/**
 * The retained messages a new subscriber to `filter` gets, all of them: `marker`, a topic known to be retained,
 * asked for again last in the same SUBSCRIBE, comes after them (retainedOn; one more retained topic would hit the cap).
 */
async function retained(transport: 'tcp' | 'ws', filter: string, marker: string): Promise<Received[]> {
  return retainedOn(await env.connect(transport), filter, marker);
}

describe('finding 8: caps on broker state', () => {
  for (const transport of ['tcp', 'ws'] as const) {
    it(`a new retained topic beyond --max-retained-messages is delivered but not retained; an existing one may change (${transport})`, async () => {
      await start({ limits: { maxRetainedMessages: 5 } });
      const c = await env.connect(transport);
      for (let i = 0; i < 8; i++) await c.publishAsync(`home/r${i}`, `v${i}`, { qos: 1, retain: true });
      await c.publishAsync('home/r0', 'changed', { qos: 1, retain: true });
      await c.publishAsync('home/r1', '', { qos: 1, retain: true }); // clearing one makes room
      await c.publishAsync('home/r7', 'now retained', { qos: 1, retain: true });
      const got = await retained(transport, 'home/#', 'home/r7');
      expect(got.map((m) => `${m.topic}=${m.text}`).sort()).toEqual(['home/r0=changed', 'home/r2=v2', 'home/r3=v3', 'home/r4=v4', 'home/r7=now retained']);
      const text = await metrics();
      expect(text).toContain('mqlive_retained_messages 5');
      expect(text).toContain('mqlive_caps_hit_total{cap="retained_messages"} 3');
      expect(env.logs.messages()).toContain('Not retained: home/r5 would be retained message 6 (limit 5, --max-retained-messages)');
    });
  }

  it('a new retained topic beyond --max-retained-bytes is not retained', async () => {
    await start({ limits: { maxRetainedBytes: 100 } });
    const c = await env.connect('tcp');
    for (let i = 0; i < 3; i++) await c.publishAsync(`home/b${i}`, 'x'.repeat(40), { qos: 1, retain: true });
    expect((await retained('tcp', 'home/#', 'home/b1')).map((m) => m.topic).sort()).toEqual(['home/b0', 'home/b1']);
    const text = await metrics();
    expect(text).toMatch(/mqlive_retained_bytes \d+/);
    expect(text).toContain('mqlive_caps_hit_total{cap="retained_bytes"} 1');
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`an offline session keeps at most --max-queued-messages, dropping the oldest (${transport})`, async () => {
      await start({ limits: { maxQueuedMessages: 5 } });
      const session = await env.connect(transport, { clientId: 'q1', clean: false });
      await subscribe(session, 'home/q', 1);
      await session.endAsync();
      const publisher = await env.connect('tcp');
      for (let i = 0; i < 8; i++) await publisher.publishAsync('home/q', String(i), { qos: 1 });

      const received: string[] = [];
      const back = mqtt.connect(env.url(transport), { clientId: 'q1', clean: false, reconnectPeriod: 0 });
      teardown.add(back, (c) => c.end(true));
      back.on('message', (_topic, payload) => received.push(payload.toString()));
      await expect.poll(() => received).toEqual(['3', '4', '5', '6', '7']);
      // The queue went out at the reconnect, in order and before anything live: a live barrier comes after it.
      await publisher.publishAsync('home/q', 'barrier', { qos: 1 });
      await expect.poll(() => received.at(-1)).toBe('barrier');
      expect(received).toEqual(['3', '4', '5', '6', '7', 'barrier']);
      expect(await metrics()).toContain('mqlive_caps_hit_total{cap="queued_messages"} 3');
      expect(env.logs.messages()).toContain('Dropping the oldest messages kept for session q1, unacknowledged or queued (limit 5, --max-queued-messages); counted in /metrics');
    });

    it(`a persistent session that acknowledges loses nothing to --max-queued-messages, in order, even in a burst past it (${transport})`, async () => {
      await start({ limits: { maxQueuedMessages: 2 } });
      const session = await env.connect(transport, { clientId: `burst-${transport}`, clean: false });
      const inbox = new Inbox(session);
      await subscribe(session, 'home/burst', 1);
      const publisher = await env.connect('tcp');
      await Promise.all(Array.from({ length: 50 }, (_, i) => publisher.publishAsync('home/burst', String(i), { qos: 1 })));
      const got = await inbox.waitForCount('home/burst', 50);
      expect(got.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
      expect(session.connected).toBe(true);
    });

    it(`subscriptions beyond --max-subscriptions-per-client get SUBACK 0x80 (${transport})`, async () => {
      await start({ limits: { maxSubscriptionsPerClient: 3 } });
      const c = await env.connect(transport);
      expect(await subscribe(c, ['a/1', 'a/2', 'a/3', 'a/4'])).toEqual([1, 1, 1, 128]);
      expect(await subscribe(c, 'a/1')).toEqual([1]); // the same filter again is not one more
      await c.unsubscribeAsync('a/1');
      expect(await subscribe(c, 'a/5')).toEqual([1]);
      expect(await subscribe(c, 'a/6')).toEqual([128]);
      expect(await metrics()).toContain('mqlive_caps_hit_total{cap="subscriptions"} 2');
      expect(env.logs.messages().some((m) => m.endsWith('a subscription to a/4: 3 subscriptions already (limit 3, --max-subscriptions-per-client)'))).toBe(true);
    });
  }
});

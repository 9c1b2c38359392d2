/**
 * The spec Aedes holds every persistence to: the abstract test suite aedes-persistence publishes (abstract.js),
 * run as published against the durable store, each test on a store of its own in a fresh data folder. Then one
 * test of ours: what the store wrote reads back the same after it is closed and opened again.
 */
import assert from 'node:assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { teardownAfterEach } from '../../test-support/teardown';
import type { DurablePersistence } from './durable-persistence';
import type { StoredPacket } from './records';
import { openDurableStore, type DataDirError, type DurableStore } from './store';

/**
 * What abstract.js uses of node:test's test context, and only that. `assert` is node:assert's (loose) assertions
 * as node:test's `t.assert` gives them, each counted for the plan; a test fails when its count differs from its
 * plan, as under node:test.
 */
class NodeTestContext {
  private planned: number | null = null;
  private counted = 0;
  readonly diagnostics: string[] = [];
  readonly assert = {
    equal: (...args: Parameters<typeof assert.equal>) => this.count(() => assert.equal(...args)),
    notEqual: (...args: Parameters<typeof assert.notEqual>) => this.count(() => assert.notEqual(...args)),
    deepEqual: (...args: Parameters<typeof assert.deepEqual>) => this.count(() => assert.deepEqual(...args)),
    ok: (...args: Parameters<typeof assert.ok>) => this.count(() => assert.ok(...args)),
  };

  plan(count: number): void {
    if (this.planned !== null) throw new Error('cannot set plan more than once');
    this.planned = count;
  }

  diagnostic(message: string): void {
    this.diagnostics.push(message);
  }

  checkPlan(): void {
    if (this.planned !== null && this.counted !== this.planned) throw new Error(`plan expected ${this.planned} assertions but received ${this.counted}`);
  }

  private count(assertion: () => void): void {
    this.counted++; // node:test counts an assertion before it runs, whether it passes or not
    assertion();
  }
}

type AbstractSuite = (options: { test: (name: string, fn: (t: NodeTestContext) => Promise<void>) => void; persistence: () => Promise<DurablePersistence>; testAsync: true }) => void;
const require = createRequire(import.meta.url);
const abstractSuite = require('aedes-persistence/abstract.js') as AbstractSuite;
const suiteVersion = (require('aedes-persistence/package.json') as { version: string }).version;

const teardown = teardownAfterEach();
/** Write failures the stores of the current test reported (a full disk, say): none is expected. */
let writeFailures: DataDirError[] = [];

/** A store on a fresh data folder, closed and its folder removed after the test. */
async function freshFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mqlive-store-'));
  teardown.add(dir, (folder) => rm(folder, { recursive: true, force: true }));
  return dir;
}

async function openStore(dir: string): Promise<DurableStore> {
  return teardown.add(
    await openDurableStore(dir, (error) => writeFailures.push(error)),
    (store) => store.close(),
  );
}

describe(`the aedes-persistence ${suiteVersion} abstract suite, against the durable store`, () => {
  abstractSuite({
    test: (name, fn) =>
      it(name, async ({ onTestFailed }) => {
        writeFailures = [];
        const t = new NodeTestContext();
        onTestFailed(() => console.log(`${name}, diagnostics:\n  ${t.diagnostics.join('\n  ')}`));
        await fn(t);
        t.checkPlan();
        expect(writeFailures).toEqual([]);
      }),
    persistence: async () => (await openStore(await freshFolder())).persistence,
    testAsync: true,
  });
});

describe('the durable store, closed and opened again', () => {
  const broker = { id: 'broker-1' };
  const c1 = { id: 'c1' };
  const publish = (topic: string, payload: string, extra: object = {}) => ({ cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos: 1 as const, retain: false, dup: false, ...extra });
  /** aedes-persistence's match of a topic against the QoS > 0 subscriptions (broker/types.d.ts leaves it out). */
  type BySubscribedTopic = { subscriptionsByTopic(topic: string): Promise<object[]> };
  const all = async <T>(stream: Readable): Promise<T[]> => (await stream.toArray()) as T[];

  /** What the persistence answers about everything the test wrote. */
  const answers = async (p: DurablePersistence) => ({
    retained: await all<StoredPacket>(p.createRetainedStreamCombi(['status/one', 'status/two', 'status/gone'])),
    subscriptionsOfC1: await p.subscriptionsByClient(c1),
    subscriptionsOfC2: await p.subscriptionsByClient({ id: 'c2' }),
    matchingA: await (p as unknown as BySubscribedTopic).subscriptionsByTopic('a/x'),
    matchingB: await (p as unknown as BySubscribedTopic).subscriptionsByTopic('b'),
    outgoing: await all<Record<string, unknown>>(p.outgoingStream(c1)),
    incoming5: await p.incomingGetPacket(c1, { messageId: 5 }),
    incoming6: await p.incomingGetPacket(c1, { messageId: 6 }).catch((error: Error) => error.message),
  });

  it('answers what was written through every method: retained, subscriptions, queued messages in order with their ids, incoming QoS 2 and the will', async () => {
    writeFailures = [];
    const dir = await freshFolder();
    const first = await openStore(dir);
    const p = first.persistence;
    await p.setup(broker);

    await p.storeRetained({ ...publish('status/one', 'old'), retain: true });
    await p.storeRetained({ ...publish('status/one', 'new'), retain: true });
    await p.storeRetained({ ...publish('status/two', 'two'), retain: true, properties: { contentType: 'text/plain' } });
    await p.storeRetained({ ...publish('status/gone', 'x'), retain: true });
    await p.storeRetained({ ...publish('status/gone', ''), retain: true });

    await p.addSubscriptions(c1, [
      { topic: 'a/#', qos: 1, rh: 0, rap: 1, nl: 0, subscriptionIdentifier: 7 },
      { topic: 'b', qos: 0, rh: 0, rap: 0, nl: 0 },
      { topic: 'unsubscribed', qos: 1 },
    ]);
    await p.removeSubscriptions(c1, ['unsubscribed']);
    await p.addSubscriptions({ id: 'c2' }, [{ topic: 'b', qos: 2 }]);
    await p.cleanSubscriptions({ id: 'c2' });

    // 20 queued messages (more than 16: the store's sequence numbers pass one hex digit); then the first is
    // acknowledged, the second (QoS 2) received and turned into its PUBREL, the third sent and waiting for its PUBACK.
    const queued = Array.from({ length: 20 }, (_, i) => publish(`a/${i + 1}`, `m${i + 1}`, { qos: i === 1 ? 2 : 1, brokerId: broker.id, brokerCounter: i + 1 }));
    await p.outgoingEnqueue({ clientId: c1.id }, queued[0]!);
    await p.outgoingEnqueueCombi([{ clientId: c1.id }, { clientId: 'c3' }], queued[1]!);
    for (const packet of queued.slice(2)) await p.outgoingEnqueue({ clientId: c1.id }, packet);
    for (const [i, messageId] of [101, 102, 103].entries()) await p.outgoingUpdate(c1, { ...queued[i]!, messageId });
    expect(await p.outgoingClearMessageId(c1, { messageId: 101 })).toMatchObject({ topic: 'a/1', messageId: 101 });
    await p.outgoingUpdate(c1, { cmd: 'pubrel', messageId: 102 } as never);

    await p.incomingStorePacket(c1, publish('in/5', 'five', { qos: 2, messageId: 5 }));
    await p.incomingStorePacket(c1, publish('in/6', 'six', { qos: 2, messageId: 6 }));
    await p.incomingDelPacket(c1, { messageId: 6 });

    await p.putWill(c1, { ...publish('wills/c1', 'gone'), qos: 1, retain: true });
    await p.putWill({ id: 'c4' }, publish('wills/c4', 'gone'));
    await p.delWill({ id: 'c4' });

    // A string payload, as Aedes's publish() accepts and the abstract suite enqueues one ('add outgoing packet as a string').
    await p.outgoingEnqueue({ clientId: 'c5' }, { ...publish('text', ''), payload: 'as a string' } as never);
    await p.storeRetained({ ...publish('status/text', ''), payload: 'retained string', retain: true } as never);

    const before = await answers(p);
    const willBefore = await p.getWill(c1);
    await p.destroy();
    await first.close();

    const second = await openStore(dir);
    const reloaded = second.persistence;
    await reloaded.setup(broker);
    const after = await answers(reloaded);
    expect(after).toEqual(before);
    // Kept with its client's user (null: anonymous), checked against the rights of the broker that finds it.
    expect(reloaded.willsFromBefore).toEqual([{ ...(willBefore as object), username: null }]);
    expect(writeFailures).toEqual([]);

    // And what that is, so that two empty answers cannot pass.
    expect(after.retained.map((m) => [m.topic, String(m.payload), m.properties])).toEqual([
      ['status/one', 'new', undefined],
      ['status/two', 'two', { contentType: 'text/plain' }],
    ]);
    expect(after.subscriptionsOfC1).toEqual([
      { topic: 'a/#', qos: 1, rh: 0, rap: 1, nl: 0, subscriptionIdentifier: 7 },
      { topic: 'b', qos: 0, rh: 0, rap: 0, nl: 0 },
    ]);
    expect(after.subscriptionsOfC2).toEqual([]);
    expect(after.matchingA).toEqual([{ clientId: 'c1', topic: 'a/#', qos: 1, rh: 0, rap: 1, nl: 0 }]);
    expect(after.matchingB).toEqual([]); // c1's is QoS 0, c2's was cleaned
    expect(after.outgoing.map((m) => [m.cmd, m.topic, m.messageId])).toEqual([
      ['pubrel', undefined, 102],
      ['publish', 'a/3', 103],
      ...Array.from({ length: 17 }, (_, i) => ['publish', `a/${i + 4}`, undefined]),
    ]);
    expect(await all(reloaded.outgoingStream({ id: 'c3' }))).toMatchObject([{ topic: 'a/2', qos: 2, brokerCounter: 2 }]);
    expect(after.incoming5).toMatchObject({ topic: 'in/5', messageId: 5, qos: 2 });
    expect(String((after.incoming5 as { payload: Buffer }).payload)).toBe('five');
    expect(after.incoming6).toBe('no such packet');
    // A string payload comes back as its UTF-8 bytes: what MQTT sends for it, and what the rest of the broker reads.
    expect(await all(reloaded.outgoingStream({ id: 'c5' }))).toMatchObject([{ topic: 'text', payload: Buffer.from('as a string') }]);
    expect(await all(reloaded.createRetainedStreamCombi(['status/text']))).toMatchObject([{ topic: 'status/text', payload: Buffer.from('retained string') }]);
    expect(reloaded.willsFromBefore).toMatchObject([{ clientId: 'c1', brokerId: broker.id, topic: 'wills/c1', qos: 1, retain: true }]);
  });
});

import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessage, parseMessage } from '../../protocol/recording';
import { inspectDataDir, openStoreToRead, retainedAsRecorded, StoreInUseError } from './inspect';
import { keys } from './records';
import { openDurableStore } from './store';
import { openStoreFolder } from './store-folder';

// `mqlive data`'s reading of a data folder, on real LevelDB folders in a temp dir, written by the broker's own
// store code (openDurableStore, DurablePersistence) as a broker writes them.
const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-inspect-'));
  dirs.push(dir);
  return dir;
}

const publish = (topic: string, payload: string | Buffer, extra: Record<string, unknown> = {}) =>
  ({ cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos: 1 as const, retain: true, ...extra });

/** A store holding some of every kind of record, written through the persistence the broker uses. */
async function fillStore(dir: string): Promise<void> {
  const store = await openDurableStore(dir, (error) => {
    throw error;
  });
  const p = store.persistence;
  await p.storeRetained(publish('devices/laptop/status', 'online'));
  await p.storeRetained(publish('lab/temperature', '21.5', { properties: { contentType: 'text/plain', userProperties: { unit: 'C' } } }));
  await p.storeRetained(publish('lab/\u0001odd', 'x'));
  // Two persistent sessions; one has two subscriptions (subscriptions are not sessions) and two queued messages.
  p.setSession('sub-1', { username: null, owner: null, expiryS: null, disconnectedAt: 1 });
  p.setSession('sub-2', { username: null, owner: null, expiryS: 60, disconnectedAt: 1 });
  await p.addSubscriptions({ id: 'sub-1' }, [{ topic: 'lab/#', qos: 1 }, { topic: 'devices/#', qos: 1 }]);
  await p.outgoingEnqueue({ clientId: 'sub-1' }, { ...publish('lab/a', '1', { retain: false }), brokerId: 'b', brokerCounter: 1 });
  await p.outgoingEnqueue({ clientId: 'sub-1' }, { ...publish('lab/a', '2', { retain: false }), brokerId: 'b', brokerCounter: 2 });
  await p.setup({ id: 'test-broker' } as never); // what Aedes does at start (a will names its broker)
  await p.putWill({ id: 'pub-1' }, publish('devices/pub-1/status', 'offline'));
  await p.incomingStorePacket({ id: 'pub-1' }, { ...publish('lab/q2', 'x', { qos: 2, retain: false }), messageId: 7 });
  await store.close();
}

describe('mqlive data: reading a data folder', () => {
  it('a folder without a store is said to have none, and nothing is created in it', async () => {
    const dir = join(tempDir(), 'never-used');
    expect(await inspectDataDir(dir)).toEqual({ dir, store: false, inUse: null, bytes: null, counts: null });
    expect(await openStoreToRead(dir)).toBeNull();
    // Not even the folder: a typo in --data-dir must not leave a new empty store behind.
    expect(existsSync(dir)).toBe(false);
  });

  it('counts each kind of record the broker keeps, and the size of its files', async () => {
    const dir = tempDir();
    await fillStore(dir);
    const info = await inspectDataDir(dir);
    expect(info).toMatchObject({ dir, store: true, inUse: null, counts: { retained: 3, sessions: 2, queued: 2, wills: 1, awaitingPubrel: 1 } });
    expect(info.bytes).toBeGreaterThan(0);
    // Reading it changed nothing: the broker loads all of it again.
    const store = await openDurableStore(dir, () => {});
    open.push(store);
    expect(store.persistence.willsFromBefore.map((w) => w.topic)).toEqual(['devices/pub-1/status']);
    expect([...store.persistence.sessionsFromBefore.keys()].sort()).toEqual(['sub-1', 'sub-2']);
  });

  it('yields the retained messages only, in topic order, as they were stored', async () => {
    const dir = tempDir();
    await fillStore(dir);
    const store = (await openStoreToRead(dir))!;
    open.push(store);
    const found = [];
    for await (const { topic, packet } of store.retained()) found.push({ topic, payload: packet.payload.toString(), properties: packet.properties });
    expect(found).toEqual([
      { topic: 'devices/laptop/status', payload: 'online', properties: undefined },
      { topic: 'lab/\u0001odd', payload: 'x', properties: undefined },
      { topic: 'lab/temperature', payload: '21.5', properties: { contentType: 'text/plain', userProperties: { unit: 'C' } } },
    ]);
  });

  it('while a broker holds the store: in use, with its PID and size, and no counts; export and clear cannot open it', async () => {
    const dir = tempDir();
    await fillStore(dir);
    const broker = await openDurableStore(dir, () => {}); // writes broker.pid as a broker does: this process's PID
    open.push(broker);
    const info = await inspectDataDir(dir);
    expect(info).toMatchObject({ store: true, inUse: { pid: process.pid }, counts: null });
    expect(info.bytes).toBeGreaterThan(0);
    const refusal = await openStoreToRead(dir).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(StoreInUseError);
    expect((refusal as Error).message).toBe(`the mqlive broker with PID ${process.pid} has the store in ${dir} open`);
  });

  it('clear deletes every record and gives back the space', async () => {
    const dir = tempDir();
    const store = await openDurableStore(dir, () => {});
    // 2,000 retained messages of 1 KiB (random: LevelDB compresses): about 2 MiB of files.
    for (let i = 0; i < 2000; i++) store.persistence.storeRetained(publish(`bulk/${i}`, randomBytes(1024))).catch(() => {});
    await store.persistence.group.durable();
    await store.close();
    await fillStore(dir);
    const before = (await inspectDataDir(dir)).bytes!;
    expect(before).toBeGreaterThan(2_000_000);

    const reader = (await openStoreToRead(dir))!;
    expect(await reader.clear()).toEqual({ retained: 2003, sessions: 2, queued: 2, wills: 1, awaitingPubrel: 1 });
    await reader.close();
    const after = await inspectDataDir(dir);
    expect(after.counts).toEqual({ retained: 0, sessions: 0, queued: 0, wills: 0, awaitingPubrel: 0 });
    expect(after.bytes).toBeLessThan(before / 10);
    // A broker starting on it finds nothing.
    const again = await openDurableStore(dir, () => {});
    open.push(again);
    expect(again.persistence.willsFromBefore).toEqual([]);
    expect(again.persistence.sessionsFromBefore.size).toBe(0);
  });

  it('a damaged store is one line naming it, not a stack', async () => {
    const dir = tempDir();
    const folder = await openStoreFolder(dir);
    await folder.write([[keys.retained('lab/x'), Buffer.from('not V8 data')]]);
    await folder.close();
    const store = (await openStoreToRead(dir))!;
    open.push(store);
    const failure = await (async () => {
      for await (const _ of store.retained());
    })().catch((error: unknown) => error as Error);
    expect(failure?.message).toBe('a record that cannot be read (retained "lab/x")');
  });
});

describe('a stored retained message as a recording holds it', () => {
  const now = 1_800_000_000_000;

  it('at t 0, retained, with its QoS and payload bytes; binary stays binary', () => {
    const message = retainedAsRecorded('lab/blob', { payload: Buffer.from([0, 0xff, 0x80]), qos: 2 }, now);
    expect(message).toEqual({ t: 0, topic: 'lab/blob', payload: Buffer.from([0, 0xff, 0x80]), qos: 2, retain: true });
    expect(encodeMessage(message as Exclude<typeof message, string>)).toBe('{"t":0,"topic":"lab/blob","payloadBase64":"AP+A","qos":2,"retain":true}');
  });

  it('keeps the MQTT 5 properties a recording keeps, and not those of one hop', () => {
    const properties = { contentType: 'application/json', payloadFormatIndicator: true, responseTopic: 'lab/answer', correlationData: Buffer.from([1, 2, 0xff]), userProperties: { unit: ['mm', 'px'] }, subscriptionIdentifier: 4, topicAlias: 3 };
    const message = retainedAsRecorded('lab/ask', { payload: Buffer.from('{}'), qos: 1, properties }, now);
    const line = encodeMessage(message as Exclude<typeof message, string>);
    // What replay reads back from the line is what the broker had.
    expect(parseMessage(line, 2).properties).toEqual({ contentType: 'application/json', payloadFormatIndicator: true, responseTopic: 'lab/answer', correlationData: new Uint8Array([1, 2, 0xff]), userProperties: { unit: ['mm', 'px'] } });
  });

  it('gives the expiry interval left, as a broker would send it; an expired message is left out', () => {
    const packet = { payload: Buffer.from('21'), qos: 1 as const, properties: { messageExpiryInterval: 3600 }, messageExpiry: now + 1500 };
    expect(retainedAsRecorded('lab/t', packet, now)).toMatchObject({ properties: { messageExpiryInterval: 2 } });
    expect(retainedAsRecorded('lab/t', packet, now + 1500)).toBe('expired');
  });

  it("leaves out $ topics: they are the broker's own, and replay refuses a recording that has them", () => {
    expect(retainedAsRecorded('$SYS/broker/uptime', { payload: Buffer.from('1'), qos: 0 }, now)).toBe('reserved');
  });
});

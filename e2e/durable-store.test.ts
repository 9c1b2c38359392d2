import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { closed, Inbox, retainedOn, sleep, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, spawnProcess } from '../test-support/processes';
import { makeUsers } from '../test-support/security';
import { storedBrokers } from '../test-support/stored-broker';
import { teardownAfterEach } from '../test-support/teardown';

// Issue 28, "Done when": the durable store against the compiled broker, each test with a data folder of its own
// (vitest.config.ts runs every other broker with MQLIVE_DATA_DIR=none). A broker is stopped by SIGTERM, or killed
// by SIGKILL the moment the acknowledgement the test relies on has arrived, then started again on the same folder;
// what it acknowledged must be there, once. Each reading ends on a barrier: a message published after the others,
// whose arrival shows that nothing else is coming.
const teardown = teardownAfterEach();

const { tempDir, startBroker, end, client, session, leaveSubscribed } = storedBrokers(teardown);
const dataDir = () => tempDir();

/**
 * Waits for `last`, the newest message a session's queue should hold (resent in order: once it is here, all that
 * was kept is), then publishes a barrier on `topic` and returns the texts `inbox` got on it, with the barrier.
 * (A message published while the queue is being resent may overtake it: Aedes sends each resent message after
 * its store update, the live one at once; so the barrier goes only after the newest queued one has come.)
 */
async function textsUpToBarrier(publisher: MqttClient, inbox: Inbox, topic: string, last: string | null, barrier = 'barrier'): Promise<string[]> {
  if (last !== null) await inbox.waitFor((m) => m.topic === topic && m.text === last, 10_000, `${last} on ${topic}`);
  await publisher.publishAsync(topic, barrier, { qos: 1 });
  await inbox.waitFor((m) => m.topic === topic && m.text === barrier, 10_000, `the barrier on ${topic}`);
  return inbox.messages.filter((m) => m.topic === topic).map((m) => m.text);
}

const RETAINED_PROPERTIES = { contentType: 'application/json', payloadFormatIndicator: true, userProperties: { site: 'lab', tags: ['a', 'b'] } };

describe('what the broker acknowledged survives', () => {
  it.each(['SIGTERM', 'SIGKILL'] as const)(
    'retained messages (3.1.1 and MQTT 5 with properties) and queued QoS 1 messages of persistent sessions (3.1.1 clean=false, MQTT 5 session expiry) survive %s and a start on the same folder',
    async (signal) => {
      const dir = dataDir();
      const first = await startBroker(dir);
      await leaveSubscribed(first, { clientId: 'queue-311', protocolVersion: 4 }, 'queue/311');
      await leaveSubscribed(first, { clientId: 'queue-5', protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }, 'queue/5');
      const pub311 = await client(first.url, { protocolVersion: 4 });
      const pub5 = await client(first.url, { protocolVersion: 5 });
      await pub311.publishAsync('retained/311', 'kept 3.1.1', { qos: 1, retain: true });
      for (const n of ['1', '2']) {
        await pub311.publishAsync('queue/311', `m${n}`, { qos: 1 });
        await pub5.publishAsync('queue/5', `m${n}`, { qos: 1, properties: { userProperties: { n } } });
      }
      // The last ones together; the broker is stopped or killed the moment their PUBACKs are all in.
      await Promise.all([
        pub5.publishAsync('retained/5', '{"kept":5}', { qos: 1, retain: true, properties: RETAINED_PROPERTIES }),
        pub311.publishAsync('queue/311', 'm3', { qos: 1 }),
        pub5.publishAsync('queue/5', 'm3', { qos: 1, properties: { userProperties: { n: '3' } } }),
      ]);
      await end(first, signal);

      const second = await startBroker(dir);
      const reader = await client(second.url, { protocolVersion: 5 });
      const retained = await retainedOn(reader, 'retained/#');
      expect(retained.map(({ topic, text, properties }) => ({ topic, text, properties })).sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
        { topic: 'retained/311', text: 'kept 3.1.1', properties: undefined },
        { topic: 'retained/5', text: '{"kept":5}', properties: RETAINED_PROPERTIES },
      ]);

      const publisher = await client(second.url, { protocolVersion: 5 });
      const back311 = await session(second.url, { clientId: 'queue-311', clean: false, protocolVersion: 4 });
      expect(back311.connack.sessionPresent).toBe(true);
      expect(await textsUpToBarrier(publisher, back311.inbox, 'queue/311', 'm3')).toEqual(['m1', 'm2', 'm3', 'barrier']);
      const back5 = await session(second.url, { clientId: 'queue-5', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
      expect(back5.connack.sessionPresent).toBe(true);
      expect(await textsUpToBarrier(publisher, back5.inbox, 'queue/5', 'm3')).toEqual(['m1', 'm2', 'm3', 'barrier']);
      expect(back5.inbox.messages.slice(0, 3).map((m) => m.properties?.userProperties)).toEqual([{ n: '1' }, { n: '2' }, { n: '3' }]);
    },
  );

  it("the issue's recipe: mosquitto_pub -r and mosquitto_sub -c, then SIGTERM and a start, return the retained and the queued message", async () => {
    const dir = dataDir();
    const first = await startBroker(dir);
    const port = new URL(first.url).port;
    const tool = (command: string, args: string[]) => teardown.add(spawnProcess(command, ['-h', '127.0.0.1', '-p', port, ...args]), (p) => p.stop('SIGKILL'));
    // -E: exits once its subscription is acknowledged, leaving its session behind (-c).
    const sub = tool('mosquitto_sub', ['-i', 'recipe-sub', '-c', '-q', '1', '-t', 'recipe/queue', '-E']);
    expect(await sub.exited).toBe(0);
    expect(await tool('mosquitto_pub', ['-q', '1', '-r', '-t', 'recipe/retained', '-m', 'setpoint 21']).exited).toBe(0);
    expect(await tool('mosquitto_pub', ['-q', '1', '-t', 'recipe/queue', '-m', 'queued while away']).exited).toBe(0);
    await end(first, 'SIGTERM');

    const second = await startBroker(dir);
    const port2 = new URL(second.url).port;
    const tool2 = (args: string[]) => teardown.add(spawnProcess('mosquitto_sub', ['-h', '127.0.0.1', '-p', port2, '-W', '10', ...args]), (p) => p.stop('SIGKILL'));
    const retained = tool2(['-t', 'recipe/retained', '-C', '1', '-v']);
    expect(await retained.exited).toBe(0);
    expect(retained.output().trim()).toBe('recipe/retained setpoint 21');
    const queued = tool2(['-i', 'recipe-sub', '-c', '-q', '1', '-t', 'recipe/queue', '-C', '1', '-v']);
    expect(await queued.exited).toBe(0);
    expect(queued.output().trim()).toBe('recipe/queue queued while away');
  });
});

/** A seeded pseudo-random number generator (mulberry32): the same seed gives the same crash moments. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('a loop of crashes', () => {
  const CRASHES = 50;
  /** A crash comes at a random moment within this many ms after the broker is ready (and its retained value read). */
  const WINDOW_MS = 60;

  it(`${CRASHES} SIGKILLs at random moments while a QoS 1 publisher sends retained updates and messages for an offline persistent session: every acknowledged one is kept, once`, async () => {
    const seed = Number(process.env.MQLIVE_CRASH_SEED ?? Date.now() % 2 ** 31);
    console.info(`crash loop seed: ${seed} (MQLIVE_CRASH_SEED=${seed} repeats its moments)`);
    const random = seededRandom(seed);
    // Generous caps: the test is of the store, not of the caps. Every publish is a pair: message n on the queue
    // topic and, once its PUBACK is in, retained value n; the next pair goes when both are acknowledged.
    const flags = ['--max-queued-messages', '100000', '--max-queued-bytes', '100000000', '--max-publish-rate', '100000'];
    const dir = dataDir();
    let broker = await startBroker(dir, flags);
    await leaveSubscribed(broker, { clientId: 'crash-sub', protocolVersion: 4 }, 'crash/queue');

    let next = 0;
    const sent = new Set<number>();
    const ackedQueue = new Set<number>();
    let lastAckedRetained = -1;
    /** The retained value read after the last restart: it is on disk, so it can only be replaced by a newer one. */
    let lastSeenRetained = -1;
    const started = Date.now();
    for (let crash = 0; crash < CRASHES; crash++) {
      if (crash > 0) broker = await startBroker(dir, flags);
      // After every restart: the retained value is the last acknowledged one, or a later one sent but not acknowledged.
      const reader = await client(broker.url);
      const retained = (await retainedOn(reader, 'crash/retained')).map((m) => Number(m.text));
      reader.end(true);
      if (lastAckedRetained >= 0 || retained.length > 0) {
        expect(retained, `retained after crash ${crash}`).toHaveLength(1);
        const value = retained[0]!;
        expect(sent.has(value), `retained ${value} was sent`).toBe(true);
        expect(value, `retained ${value} after crash ${crash}`).toBeGreaterThanOrEqual(Math.max(lastAckedRetained, lastSeenRetained));
        lastSeenRetained = value;
      }

      const publisher = teardown.add(mqtt.connect(broker.url, { reconnectPeriod: 0, protocolVersion: 4 }), (c) => c.end(true));
      publisher.on('error', () => {});
      const gone = closed(publisher);
      publisher.once('connect', async () => {
        try {
          for (;;) {
            const n = next++;
            sent.add(n);
            await publisher.publishAsync('crash/queue', String(n), { qos: 1 });
            ackedQueue.add(n);
            await publisher.publishAsync('crash/retained', String(n), { qos: 1, retain: true });
            lastAckedRetained = n;
          }
        } catch {
          // the broker was killed: this publish was not acknowledged
        }
      });
      await sleep(random() * WINDOW_MS);
      await end(broker, 'SIGKILL');
      // Every PUBACK the broker sent before it died has been read once the connection is closed.
      await gone;
      publisher.end(true);
    }
    const crashLoopMs = Date.now() - started;

    broker = await startBroker(dir, flags);
    const sub = await session(broker.url, { clientId: 'crash-sub', clean: false, protocolVersion: 4 });
    expect(sub.connack.sessionPresent).toBe(true);
    const publisher = await client(broker.url);
    const lastAcked = Math.max(-1, ...ackedQueue);
    const texts = await textsUpToBarrier(publisher, sub.inbox, 'crash/queue', lastAcked >= 0 ? String(lastAcked) : null);
    const received = texts.slice(0, -1).map(Number);
    console.info(`crash loop: ${CRASHES} crashes in ${crashLoopMs} ms (${Math.round(crashLoopMs / CRASHES)} ms each); ${sent.size} sent, ${ackedQueue.size} acknowledged, ${received.length} kept`);
    expect(ackedQueue.size, 'the publisher got PUBACKs at all').toBeGreaterThan(CRASHES);
    // Every acknowledged message is there; every one there was sent; none twice, in the order sent. The subscriber
    // was offline throughout and the publisher never sent a message again, so even MQTT's at-least-once allows no
    // duplicate here: each sent message reached the broker once, and a copy would be the store's.
    expect([...ackedQueue].filter((n) => !received.includes(n)), 'acknowledged but lost').toEqual([]);
    expect(received.filter((n) => !sent.has(n))).toEqual([]);
    expect(received).toEqual([...new Set(received)].sort((a, b) => a - b));

    // Once received and acknowledged (then a clean stop), nothing of it is resent: the store forgot each message.
    await sub.client.endAsync();
    await broker.process.waitForEvent('client_disconnected', { where: { clientId: 'crash-sub' } });
    await end(broker, 'SIGTERM');
    broker = await startBroker(dir, flags);
    const again = await session(broker.url, { clientId: 'crash-sub', clean: false, protocolVersion: 4 });
    expect(again.connack.sessionPresent).toBe(true);
    expect(await textsUpToBarrier(await client(broker.url), again.inbox, 'crash/queue', null, 'barrier 2')).toEqual(['barrier 2']);
  }, 120_000);
});

describe('sessions and wills across a restart', () => {
  it('the wills of clients connected at a crash (SIGKILL) are published after the restart, once: queued for a persistent subscriber, and retained', async () => {
    const dir = dataDir();
    const first = await startBroker(dir);
    await leaveSubscribed(first, { clientId: 'will-watch', protocolVersion: 4 }, 'wills/#');
    await client(first.url, { clientId: 'will-a', protocolVersion: 4, will: { topic: 'wills/a', payload: Buffer.from('a is gone'), qos: 1, retain: false } });
    await client(first.url, { clientId: 'will-b', protocolVersion: 5, will: { topic: 'wills/b', payload: Buffer.from('b is gone'), qos: 1, retain: true, properties: { userProperties: { why: 'crash' } } } });
    await end(first, 'SIGKILL'); // the will is kept before the CONNACK

    const second = await startBroker(dir);
    expect(second.process.events('will_published').map((e) => [e.clientId, e.topic, e.reason]).sort()).toEqual([
      ['will-a', 'wills/a', 'broker_restarted'],
      ['will-b', 'wills/b', 'broker_restarted'],
    ]);
    const watch = await session(second.url, { clientId: 'will-watch', clean: false, protocolVersion: 4 });
    expect(watch.connack.sessionPresent).toBe(true);
    await watch.inbox.waitForCount('wills/a', 1);
    await watch.inbox.waitForCount('wills/b', 1);
    const publisher = await client(second.url);
    expect(await textsUpToBarrier(publisher, watch.inbox, 'wills/z', null)).toEqual(['barrier']);
    expect(watch.inbox.messages.map((m) => `${m.topic} ${m.text}`).sort()).toEqual(['wills/a a is gone', 'wills/b b is gone', 'wills/z barrier']);
    // A subscriber on the fresh broker finds the retained will, with its properties.
    const fresh = await client(second.url, { protocolVersion: 5 });
    expect((await retainedOn(fresh, 'wills/#')).map((m) => [m.topic, m.text, m.properties?.userProperties])).toEqual([['wills/b', 'b is gone', { why: 'crash' }]]);

    // Published once: a start after that publishes none again.
    await watch.client.endAsync();
    await second.process.waitForEvent('client_disconnected', { where: { clientId: 'will-watch' } });
    await end(second, 'SIGTERM');
    const third = await startBroker(dir);
    expect(third.process.events('will_published')).toEqual([]);
    const watch3 = await session(third.url, { clientId: 'will-watch', clean: false, protocolVersion: 4 });
    expect(await textsUpToBarrier(await client(third.url), watch3.inbox, 'wills/z', null, 'barrier 3')).toEqual(['barrier 3']);
    expect(watch3.inbox.messages.map((m) => m.topic)).toEqual(['wills/z']);
  });

  it("a persistent session keeps its owner across a crash: bob cannot take alice's client id (nor her queued messages); alice gets them", async () => {
    const dir = dataDir();
    // Bob is a viewer: an admin may take over any client id.
    const { file } = await makeUsers({ alice: 'admin', bob: 'viewer', root: 'admin' });
    const flags = ['--users', file];
    const login = (name: string) => ({ username: name, password: `${name}-password` });
    const first = await startBroker(dir, flags);
    await leaveSubscribed(first, { clientId: 'alice-s', protocolVersion: 4, ...login('alice') }, 'own/alice');
    const root = await client(first.url, login('root'));
    await root.publishAsync('own/alice', 'one', { qos: 1 });
    await root.publishAsync('own/alice', 'two', { qos: 1 });
    await end(first, 'SIGKILL');

    const second = await startBroker(dir, flags);
    for (const clean of [false, true]) {
      const refused = await session(second.url, { clientId: 'alice-s', clean, protocolVersion: 4, ...login('bob') }).then(
        () => null,
        (error: { code?: number }) => error,
      );
      expect(refused?.code, `bob with clean=${clean}`).toBe(5); // CONNACK 5: not authorized
      await second.process.waitForEvent('client_id_refused', { where: { clientId: 'alice-s', username: 'bob' } });
    }
    const alice = await session(second.url, { clientId: 'alice-s', clean: false, protocolVersion: 4, ...login('alice') });
    expect(alice.connack.sessionPresent).toBe(true);
    expect(await textsUpToBarrier(await client(second.url, login('root')), alice.inbox, 'own/alice', 'two')).toEqual(['one', 'two', 'barrier']);
  });

  // The session's expiry interval is what is tested: the test waits for it to pass (from the disconnect), no
  // longer. Within the interval, a stop and a start must fit: 4 s leaves room for a slow start on a busy machine.
  it.each([
    ['the broker starts again after the interval', 'after', 2],
    ['the broker starts again within the interval, and the client connects after it', 'within', 4],
  ] as const)('an MQTT 5 session with a short expiry is gone after a stop when %s; one with a long expiry stays', async (_what, when, EXPIRY_S) => {
    const dir = dataDir();
    const first = await startBroker(dir);
    await leaveSubscribed(first, { clientId: 'long-lived', protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } }, 'expiry/long');
    await leaveSubscribed(first, { clientId: 'short-lived', protocolVersion: 5, properties: { sessionExpiryInterval: EXPIRY_S } }, 'expiry/short');
    const expiresBy = Date.now() + EXPIRY_S * 1000; // the broker saw the disconnect before this moment
    const publisher = await client(first.url);
    await publisher.publishAsync('expiry/long', 'kept', { qos: 1 });
    await publisher.publishAsync('expiry/short', 'gone with its session', { qos: 1 });
    await end(first, 'SIGTERM');

    if (when === 'after') await sleep(expiresBy + 50 - Date.now());
    const second = await startBroker(dir);
    if (when === 'within') {
      expect(Date.now(), 'the broker started within the interval').toBeLessThan(expiresBy);
      await sleep(expiresBy + 50 - Date.now());
    }
    const short = await session(second.url, { clientId: 'short-lived', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: EXPIRY_S } });
    expect(short.connack.sessionPresent).toBe(false);
    const publisher2 = await client(second.url);
    // Nothing of the old session comes: a barrier on a new subscription is all it gets.
    await subscribe(short.client, 'expiry/barrier');
    expect(await textsUpToBarrier(publisher2, short.inbox, 'expiry/barrier', null)).toEqual(['barrier']);
    expect(short.inbox.messages.map((m) => m.topic)).toEqual(['expiry/barrier']);
    const long = await session(second.url, { clientId: 'long-lived', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    expect(long.connack.sessionPresent).toBe(true);
    expect(await textsUpToBarrier(publisher2, long.inbox, 'expiry/long', 'kept')).toEqual(['kept', 'barrier']);
  });
});

/** A broker that must not start: it exits 1 with one line (no stack trace); returns the line. */
async function refusedStart(dir: string, env: Record<string, string> = {}): Promise<string> {
  const process = teardown.add(
    spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', ...(env.MQLIVE_DATA_DIR ? [] : ['--data-dir', dir])], env),
    (p) => p.stop('SIGKILL'),
  );
  // A broker that starts anyway says so at once, rather than leave the test waiting for an exit.
  const outcome = await Promise.race([process.exited, brokerReady(process).then(() => 'started', () => process.exited)]);
  expect(outcome, process.output()).toBe(1);
  const lines = process.output().trim().split('\n');
  expect(lines, process.output()).toHaveLength(1);
  expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/);
  return lines[0]!;
}

/** The content of every file under `dir` but LevelDB's own diary (LOG, LOG.old) and its empty LOCK. */
function contents(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || ['LOG', 'LOG.old', 'LOCK'].includes(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return files;
}

describe('the data folder', () => {
  it("a second broker on the same folder is refused: one line naming the folder and the first broker's PID, exit 1; the first goes on", async () => {
    const dir = dataDir();
    const first = await startBroker(dir);
    const line = await refusedStart(dir);
    expect(line).toContain(dir);
    expect(line).toContain(`PID ${first.process.child.pid}`);
    const c = await client(first.url);
    await c.publishAsync('still/here', 'yes', { qos: 1, retain: true });
    expect((await retainedOn(c, 'still/here')).map((m) => m.text)).toEqual(['yes']);
  });

  // Tests run as root here, so a folder without write permission (chmod 500) does not stop them: a path that
  // cannot be a folder does, for root too (a regular file in the way, as its parent or as the store itself).
  it.each([
    ['a regular file as its parent', (dir: string) => (writeFileSync(join(dir, 'file'), 'x'), join(dir, 'file', 'data'))],
    ['a regular file where its store folder goes', (dir: string) => (mkdirSync(join(dir, 'data')), writeFileSync(join(dir, 'data', 'store'), 'x'), join(dir, 'data'))],
  ])('a data folder that cannot be used (%s) gives one line naming it, exit 1 (flag and MQLIVE_DATA_DIR alike)', async (_what, make) => {
    const path = make(dataDir());
    expect(await refusedStart(path)).toContain(path);
    expect(await refusedStart(path, { MQLIVE_DATA_DIR: path })).toContain(path);
  });

  /** A folder with a store whose records sit both in a table file (*.ldb) and in the write-ahead log (*.log). */
  async function storeWithData(): Promise<string> {
    const dir = dataDir();
    const first = await startBroker(dir);
    await (await client(first.url)).publishAsync('kept/one', 'one', { qos: 1, retain: true });
    await end(first, 'SIGTERM');
    const second = await startBroker(dir); // LevelDB turns the log it finds at open into a table file
    await (await client(second.url)).publishAsync('kept/two', 'two', { qos: 1, retain: true });
    await end(second, 'SIGTERM');
    const names = readdirSync(join(dir, 'store'));
    expect(names.some((n) => n.endsWith('.ldb') && statSync(join(dir, 'store', n)).size > 0), names.join(' ')).toBe(true);
    expect(names.some((n) => n.endsWith('.log') && statSync(join(dir, 'store', n)).size > 0), names.join(' ')).toBe(true);
    return dir;
  }

  it.each([['CURRENT'], ['MANIFEST-'], ['.ldb']])('a damaged store (%s overwritten) gives one line naming the store and what to do, exit 1, and is left as it was, start after start', async (which) => {
    const dir = await storeWithData();
    const store = join(dir, 'store');
    const name = readdirSync(store).find((n) => n.startsWith(which) || n.endsWith(which))!;
    // The same length of bytes LevelDB never writes there: the damage is the same at every run.
    writeFileSync(join(store, name), Buffer.alloc(statSync(join(store, name)).size, 0xa5));
    const before = contents(dir);
    for (let start = 0; start < 2; start++) {
      const line = await refusedStart(dir);
      expect(line).toContain(store);
      expect(line).toContain(`move ${dir} aside`);
      if (which === '.ldb') {
        // LevelDB opens this one (the damage shows when the broker reads the records): at open it turns its log
        // into a table file and writes a new manifest, even though the broker then refuses; the damaged file
        // itself stays as it was.
        expect(contents(dir)[`store/${name}`]).toBe(before[`store/${name}`]);
      } else {
        expect(contents(dir), 'the files as they were').toEqual(before);
      }
    }
  });

  // LevelDB itself would take this log for a write torn by a crash and drop it without a word (log-check.ts).
  it('a damaged write-ahead log (*.log overwritten) gives its line too, exit 1, not an empty start', async () => {
    const dir = await storeWithData();
    const store = join(dir, 'store');
    const name = readdirSync(store).find((n) => n.endsWith('.log') && statSync(join(store, n)).size > 0)!;
    writeFileSync(join(store, name), Buffer.alloc(statSync(join(store, name)).size, 0xa5));
    const line = await refusedStart(dir);
    expect(line).toContain(store);
  });
});

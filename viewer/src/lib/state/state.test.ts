import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Report } from '../bridge';
import { ClientMessages } from '../view/client-messages';
import { DeviceList } from '../view/devices';
import { EventLog } from '../view/event-log';
import { TopicHistory } from '../view/topic-history';
import { TopicTree, topicSearch } from '../view/topic-tree';
import { LiveConnection } from '../worker/live-connection';
import { DeviceRegistry, MAX_DEVICES, SCREEN_SIDE, TRAIL_MS } from './devices';
import { EVENT_LOG_ROWS, LogBatch, logEntry } from './event-log';
import { base64, checkFormatted, decodeAs, formatPayload, hexDump, MAX_JSON_DEPTH, MAX_NUMERIC_FIELDS, numericFields } from './payload-format';
import { jsonDiff } from '../view/json-diff';
import { RateMeter } from './rate';
import { HISTORY_MESSAGES, KEPT_BYTES, KEPT_TOPIC_BYTES, MAX_TOPICS, TopicStatsTable } from './topic-stats';

// The worker's models (state/) and the page's models that hold their snapshots (view/), in Node.
const bytes = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => bytes(JSON.stringify(v));
/** One message into a registry, decoded and checked once as the worker does. */
function applyTo(reg: DeviceRegistry, topic: string, payload: Uint8Array, now: number, retained = false, cleared = false) {
  return reg.apply(topic, checkFormatted(topic, formatPayload(payload)), now, retained, cleared);
}
const meta = { name: 'Laptop', kind: 'mouse', source: 'demo', screen: { width: 800, height: 600 }, host: 'h', version: '1', schema: 1, startedAt: 1 };

describe('DeviceRegistry', () => {
  it('builds presence from status and meta, and the pointer from events', () => {
    const reg = new DeviceRegistry();
    applyTo(reg, 'devices/laptop/status', bytes('online'), 1000);
    applyTo(reg, 'devices/laptop/meta', json(meta), 1000);
    const click = applyTo(reg, 'devices/laptop/mouse/click', json({ x: 5, y: 6, button: 'right', pressed: true, ts: 1, seq: 0 }), 1100);
    expect(click).toMatchObject({ device: 'laptop', event: 'click' });
    const d = reg.get('laptop')!;
    expect(d).toMatchObject({ status: 'online', pointer: { x: 5, y: 6 }, meta: { source: 'demo' } });
    expect(d.marks).toEqual([expect.objectContaining({ kind: 'click', button: 'right', pressed: true })]);
    expect(d.lastClick).toMatchObject({ x: 5, y: 6, button: 'right' });
    applyTo(reg, 'devices/laptop/status', bytes('offline'), 1200);
    expect(reg.get('laptop')!.status).toBe('offline');
  });

  it('shows a device that only sends events (with no status: not online), counts gaps in seq, and ignores bad payloads', () => {
    const reg = new DeviceRegistry();
    applyTo(reg, 'devices/pi/mouse/move', json({ x: 1, y: 1, ts: 1, seq: 0 }), 1);
    applyTo(reg, 'devices/pi/mouse/move', json({ x: 2, y: 2, ts: 1, seq: 4 }), 2);
    expect(reg.get('pi')).toMatchObject({ status: 'unknown', lastSeen: 2, missed: 3, pointer: { x: 2, y: 2 } });
    applyTo(reg, 'devices/pi/mouse/click', json({ x: 2, y: 2, button: 'left', pressed: true, ts: 1, seq: 2 }), 2); // late, not lost
    expect(reg.get('pi')!.missed).toBe(2);
    applyTo(reg, 'devices/pi/meta', json(meta), 2);
    applyTo(reg, 'devices/pi/meta', json({ ...meta, startedAt: 2 }), 2); // a new run: meta.startedAt tells runs apart
    applyTo(reg, 'devices/pi/mouse/move', json({ x: 2, y: 2, ts: 1, seq: 0 }), 2);
    expect(reg.get('pi')!.missed).toBe(0);
    expect(applyTo(reg, 'devices/pi/mouse/move', bytes('<img src=x onerror=alert(1)>'), 3)).toBeNull();
    expect(applyTo(reg, 'devices/pi/temperature', bytes('21'), 3)).toBeNull();
    expect(reg.get('pi')!.lastSeen).toBe(3); // a sensor reading is a sign of life too
    applyTo(reg, 'devices/sensor-only/humidity', bytes('40'), 4);
    applyTo(reg, 'devices/bad.id/humidity', bytes('40'), 4);
    applyTo(reg, 'devices/old/humidity', bytes('40'), 4, true); // retained: maybe old news, not a sign of life
    expect(reg.list().map((d) => [d.id, d.status])).toEqual([['pi', 'unknown'], ['sensor-only', 'unknown']]);
    applyTo(reg, 'devices/pi/status', bytes('online'), 5); // online only from its status
    expect(reg.get('pi')!.status).toBe('online');
  });

  it('is online only by its status: a live reading says when it was heard, not that it is online (issue 29)', () => {
    const reg = new DeviceRegistry();
    applyTo(reg, 'devices/sensor9/temp', bytes('19.5'), 1000);
    expect(reg.get('sensor9')).toMatchObject({ status: 'unknown', lastSeen: 1000 });
    applyTo(reg, 'devices/sensor9/status', bytes('offline'), 1100, true);
    applyTo(reg, 'devices/sensor9/temp', bytes('19.6'), 1200);
    expect(reg.get('sensor9')).toMatchObject({ status: 'offline', lastSeen: 1200 }); // a reading does not make it online
  });

  it('lets a device go once a clear leaves it neither status nor meta, whatever order the clears come in (issue 29)', () => {
    const reg = new DeviceRegistry();
    // Remove clears devices/pi/# in the order of its topics: meta, status, then the sensor's retained reading.
    applyTo(reg, 'devices/pi/status', bytes('offline'), 1000, true);
    applyTo(reg, 'devices/pi/meta', json(meta), 1000, true);
    applyTo(reg, 'devices/pi/temperature/celsius', bytes('21.5'), 1000, true);
    applyTo(reg, 'devices/pi/meta', bytes(''), 1100, false, true);
    applyTo(reg, 'devices/pi/status', bytes(''), 1100, false, true);
    expect(reg.get('pi')).toBeUndefined();
    applyTo(reg, 'devices/pi/temperature/celsius', bytes(''), 1100, false, true); // a clear is no sign of life
    expect(reg.get('pi')).toBeUndefined();
    expect(reg.takeChanges(1100)).toEqual({ changed: [], removed: ['pi'] });
    // The reading cleared first: the device stays while its status and meta say it is there.
    applyTo(reg, 'devices/pi/status', bytes('offline'), 1200, true);
    applyTo(reg, 'devices/pi/temperature/celsius', bytes(''), 1300, false, true);
    expect(reg.get('pi')).toMatchObject({ status: 'offline', lastSeen: null });
    // A device heard only by its readings goes when one of them is cleared, and comes back with the next.
    applyTo(reg, 'devices/sensor9/temp', bytes('19.5'), 1400);
    applyTo(reg, 'devices/sensor9/temp', bytes(''), 1500, false, true);
    expect(reg.get('sensor9')).toBeUndefined();
    applyTo(reg, 'devices/sensor9/temp', bytes('19.7'), 1600);
    expect(reg.get('sensor9')).toMatchObject({ status: 'unknown', lastSeen: 1600 });
    // Remove with nothing retained to clear: the page forgets it, until it sends again.
    reg.takeChanges(1600);
    reg.forget('sensor9');
    expect(reg.get('sensor9')).toBeUndefined();
    expect(reg.takeChanges(1700)).toEqual({ changed: [], removed: ['sensor9'] });
  });

  it('forgets a device once its retained status and meta are cleared (empty payloads), and knows it again when it speaks', () => {
    const reg = new DeviceRegistry();
    applyTo(reg, 'devices/stale/status', bytes('offline'), 1000, true);
    applyTo(reg, 'devices/stale/meta', json(meta), 1000, true);
    reg.takeChanges(1000);
    applyTo(reg, 'devices/stale/status', bytes(''), 1100);
    expect(reg.get('stale')).toMatchObject({ status: 'unknown', meta: { name: 'Laptop' } });
    applyTo(reg, 'devices/stale/meta', bytes(''), 1100);
    expect(reg.get('stale')).toBeUndefined();
    expect(reg.takeChanges(1100).removed).toEqual(['stale']);
    applyTo(reg, 'devices/stale/status', bytes('online'), 1200);
    expect(reg.get('stale')!.status).toBe('online');
  });

  it('knows no last-seen time for a device it has only retained messages of, and clamps absurd screens', () => {
    const reg = new DeviceRegistry();
    applyTo(reg, 'devices/old/status', bytes('offline'), 1000, true);
    applyTo(reg, 'devices/old/meta', json({ ...meta, screen: { width: 1920, height: 2 ** 53 - 1 } }), 1000, true);
    expect(reg.get('old')).toMatchObject({ status: 'offline', lastSeen: null, meta: { screen: { width: 1920, height: SCREEN_SIDE.max } } });
    applyTo(reg, 'devices/old/meta', json({ ...meta, screen: { width: 1, height: 1 } }), 1000, true);
    expect(reg.get('old')!.meta!.screen).toEqual({ width: SCREEN_SIDE.min, height: SCREEN_SIDE.min });
    applyTo(reg, 'devices/old/status', bytes('online'), 2000);
    expect(reg.get('old')).toMatchObject({ status: 'online', lastSeen: 2000 });
  });

  it('when full, forgets retained-only and offline devices first, and never one that is online and live', () => {
    const reg = new DeviceRegistry();
    const ids = (r: DeviceRegistry) => r.list().map((d) => d.id);
    for (let i = 0; i < MAX_DEVICES; i++) applyTo(reg, `devices/fake${i}/status`, bytes(i < 10 ? 'offline' : 'online'), 1, true);
    applyTo(reg, 'devices/ghost/status', bytes('offline'), 2, true); // no surer than any already there: not kept
    expect(ids(reg)).not.toContain('ghost');
    applyTo(reg, 'devices/retained-online/status', bytes('online'), 2, true); // takes an offline one's place
    expect(ids(reg)).toContain('retained-online');
    expect(ids(reg)).not.toContain('fake0');
    applyTo(reg, 'devices/real/mouse/move', json({ x: 1, y: 1, ts: 1, seq: 0 }), 3); // live: takes a retained one's place
    expect(ids(reg)).toContain('real');
    expect(reg.list()).toHaveLength(MAX_DEVICES);

    const live = new DeviceRegistry();
    for (let i = 0; i < MAX_DEVICES; i++) applyTo(live, `devices/d${i}/status`, bytes('online'), 1);
    applyTo(live, 'devices/late/mouse/move', json({ x: 1, y: 1, ts: 1, seq: 0 }), 2);
    expect(ids(live)).not.toContain('late');
    expect(live.list()).toHaveLength(MAX_DEVICES);
  });

  it('prunes the trail after it has faded, and keeps it capped', () => {
    const reg = new DeviceRegistry();
    for (let i = 0; i < 1000; i++) applyTo(reg, 'devices/d/mouse/move', json({ x: i, y: i, ts: i, seq: i }), i);
    expect(reg.get('d')!.trail.length).toBeLessThanOrEqual(120);
    applyTo(reg, 'devices/d/mouse/move', json({ x: 0, y: 0, ts: 0, seq: 1000 }), 1000 + TRAIL_MS + 1);
    expect(reg.get('d')!.trail).toHaveLength(1);
  });
});

describe('EventLog', () => {
  const rec = (source: string, kind: 'move' | 'click', at: number) => ({ source, kind, at, topic: `devices/${source}/mouse/${kind}`, text: `${kind} ${at}` });

  it('is newest first, capped, filterable, pausable and clearable', () => {
    const log = new EventLog();
    for (let i = 0; i < EVENT_LOG_ROWS + 50; i++) log.add(rec(i % 2 ? 'a' : 'b', i % 3 ? 'move' : 'click', i));
    const all = log.filtered({ source: '', kind: '' });
    expect(all).toHaveLength(EVENT_LOG_ROWS);
    expect(all[0]!.at).toBe(EVENT_LOG_ROWS + 49);
    expect(log.filtered({ source: 'a', kind: 'click' }).every((r) => r.source === 'a' && r.kind === 'click')).toBe(true);
    log.setPaused(true);
    log.add(rec('a', 'move', 9999));
    expect(log.missedWhilePaused).toBe(1);
    expect(log.filtered({ source: '', kind: '' })[0]!.at).not.toBe(9999);
    log.setPaused(false);
    log.clear();
    expect(log.filtered({ source: '', kind: '' })).toEqual([]);
  });

  it('folds consecutive moves of one source into one row, so they cannot push clicks out', () => {
    const log = new EventLog();
    for (let i = 0; i < 1000; i++) log.add(rec('a', 'move', i));
    log.add(rec('a', 'click', 1000));
    for (let i = 0; i < 100; i++) log.add(rec(i % 2 ? 'a' : 'b', 'move', 1001 + i)); // two sources interleaved do not fold
    const rows = log.filtered({ source: '', kind: '' });
    expect(rows.at(-1)).toMatchObject({ kind: 'move', count: 1000, at: 999, text: 'move 999' });
    expect(rows.at(-2)).toMatchObject({ kind: 'click' });
    expect(rows).toHaveLength(102);
  });

  it('describes mouse events, and any other live message by topic and payload', () => {
    const mouse = { device: 'd', event: 'click' as const, payload: { x: 1, y: 2, button: 'left' as const, pressed: true, ts: 5, seq: 0 }, at: 5 };
    expect(logEntry('devices/d/mouse/click', formatPayload(bytes('{}')), mouse, 5)).toMatchObject({ source: 'd', kind: 'click', text: 'left pressed at (1, 2)' });
    expect(logEntry('devices/d/status', formatPayload(bytes('offline')), null, 5)).toMatchObject({ source: 'd', kind: 'status', text: 'status: offline' });
    expect(logEntry('clients/v1/messages', formatPayload(json({ text: 'hi', ts: 1 })), null, 5)).toMatchObject({ source: 'v1', kind: 'message', text: 'messages: hi' });
    expect(logEntry('home/kitchen/temp', formatPayload(bytes('21.5\n')), null, 5)).toMatchObject({ source: '', kind: 'other', text: 'home/kitchen/temp: 21.5 ' });
    expect(logEntry('devices/d/blob', formatPayload(bytes('x'.repeat(1000))), null, 5).text.length).toBeLessThan(200);
  });
});

describe('payload formatting', () => {
  it('reads JSON, text as text, binary as size and hex', () => {
    expect(formatPayload(json({ a: 1 }))).toEqual({ kind: 'json', text: '{"a":1}', value: { a: 1 } });
    expect(formatPayload(bytes('<b>hi</b>'))).toEqual({ kind: 'text', text: '<b>hi</b>' });
    expect(formatPayload(new Uint8Array([0xff, 0x00, 0x10]))).toEqual({ kind: 'binary', size: 3, text: '3 bytes: ff 00 10' });
  });

  it('decodes a payload as asked: auto, JSON, text, hex or base64', () => {
    const binary = new Uint8Array([0xff, 0x00, 0x3c, 0x62, 0x3e]);
    expect(decodeAs(json({ a: [1, 2] }), 'auto')).toEqual({ text: '{\n  "a": [\n    1,\n    2\n  ]\n}' });
    expect(decodeAs(bytes('<b>hi</b>'), 'auto')).toEqual({ text: '<b>hi</b>' });
    expect(decodeAs(binary, 'auto')).toEqual({ text: '0000  ff 00 3c 62 3e' });
    expect(decodeAs(bytes('21.5'), 'json')).toEqual({ text: '21.5' });
    expect(decodeAs(bytes('{"a":'), 'json')).toEqual({ text: '', error: expect.stringMatching(/^not JSON: /) });
    expect(decodeAs(bytes('{"a":1}'), 'text')).toEqual({ text: '{"a":1}' });
    expect(decodeAs(binary, 'text').text).toBe('\ufffd\u0000<b>');
    expect(decodeAs(bytes('Hi!'), 'base64')).toEqual({ text: 'SGkh' });
    expect(base64(binary)).toBe(Buffer.from(binary).toString('base64'));
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => i % 256);
    expect(base64(big)).toBe(Buffer.from(big).toString('base64'));
    expect(hexDump(Uint8Array.from({ length: 20 }, (_, i) => i))).toBe('0000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f\n0010  10 11 12 13');
    expect(hexDump(new Uint8Array(0))).toBe('');
  });

  it('shows a payload nested deeper than it can walk as text, without throwing anywhere it is shown', () => {
    const deep = bytes(`{"text":${'['.repeat(30_000)}${']'.repeat(30_000)}}`);
    expect(formatPayload(deep).kind).toBe('text');
    expect(decodeAs(deep, 'auto').text).toMatch(/^\{"text":\[\[\[/);
    expect(decodeAs(deep, 'json')).toEqual({ text: '', error: `nested deeper than ${MAX_JSON_DEPTH} levels: shown as text only` });
    expect(numericFields(formatPayload(deep))).toEqual({});
    expect(checkFormatted('clients/v1/messages', formatPayload(deep)).ok).toBe(false);
    const atLimit = bytes('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH));
    expect(formatPayload(atLimit).kind).toBe('json');
    const value = (formatPayload(atLimit) as { value: unknown }).value;
    expect(jsonDiff(value, value)).toEqual([]);
  });

  it('extracts numbers to plot', () => {
    expect(numericFields(formatPayload(bytes('21.5')))).toEqual({ value: 21.5 });
    expect(numericFields(formatPayload(json({ load: 0.4, name: 'x', cpu: { temp: 51 } })))).toEqual({ load: 0.4, 'cpu.temp': 51 });
    expect(numericFields(formatPayload(bytes('online')))).toEqual({});
    expect(numericFields(formatPayload(bytes('')))).toEqual({});
    expect(Object.keys(numericFields(formatPayload(json(Object.fromEntries([...Array(50).keys()].map((k) => [`f${k}`, k]))))))).toHaveLength(8);
    const nested = { a: Object.fromEntries([...Array(15000).keys()].map((k) => [`n${k}`, k])), b: 1 };
    expect(Object.keys(numericFields(formatPayload(json(nested))))).toHaveLength(MAX_NUMERIC_FIELDS);
  });
});

describe('TopicStatsTable (worker) and TopicTree (page)', () => {
  /** The worker's table and the page's tree, one frame per `frame()`. */
  function topics() {
    const stats = new TopicStatsTable();
    const tree = new TopicTree();
    return {
      stats,
      tree,
      record: (topic: string, payload: Uint8Array, retained: boolean, now: number, qos: 0 | 1 | 2 = 0) => stats.record(topic, formatPayload(payload), retained, now, payload, qos),
      /** An empty retained message, as the worker sees a clear. */
      clear: (topic: string, now: number) => stats.record(topic, formatPayload(bytes('')), true, now, bytes(''), 1, [], true),
      frame: () => tree.apply(stats.takeChanges(), stats.overflow, stats.takeRemoved()),
    };
  }
  const shown = (tree: TopicTree) => tree.visible().map((n) => `${n.depth}:${n.name}`);

  it('keeps count, retained flag and a one-line preview per topic, as a tree', () => {
    const t = topics();
    t.record('devices/pi/temperature/celsius', bytes('21'), true, 1000);
    t.frame();
    for (let i = 0; i < 30; i++) {
      t.record('devices/pi/temperature/celsius', bytes(String(i)), false, 1000 + i);
      if (i % 7 === 0) t.frame();
    }
    t.record('devices/laptop/status', bytes('online'), true, 1000);
    t.frame();
    const stats = t.tree.get('devices/pi/temperature/celsius')!;
    expect(stats).toMatchObject({ count: 31, retained: false, preview: '29' });
    expect(stats.rate.perSecond(1200)).toBeGreaterThan(0);
    t.record('devices/a', json({ a: 1 }), false, 1000);
    t.record('devices/long', bytes('x'.repeat(5000)), false, 1000);
    t.frame();
    expect(t.tree.get('devices/a')).toMatchObject({ kind: 'json', preview: '{"a":1}' });
    expect(t.tree.get('devices/long')!.preview).toMatch(/^x{160}… \(5000 characters\)$/);
    // Branches shallower than OPEN_DEPTH are open: `temperature` (depth 2) is closed, so `celsius` is not shown.
    expect(shown(t.tree)).toEqual(['0:devices', '1:a', '1:laptop', '2:status', '1:long', '1:pi', '2:temperature']);
  });

  it('sums counts and rates over each branch', () => {
    const t = topics();
    for (let i = 0; i < 10; i++) t.record('home/kitchen/temp', bytes(String(i)), false, 10_000 + i * 100);
    for (let i = 0; i < 5; i++) t.record('home/hall/temp', bytes(String(i)), false, 10_000 + i * 100);
    t.record('home', bytes('itself a topic'), true, 10_000);
    t.frame();
    t.record('home/kitchen/temp', bytes('10'), false, 11_000);
    t.frame();
    const row = (path: string) => t.tree.row(t.tree.find(path)!, 11_500);
    expect(row('home')).toMatchObject({ count: 17, topics: 3, branch: true, stats: { count: 1 } });
    expect(row('home/kitchen')).toMatchObject({ count: 11, topics: 1 });
    expect(row('home/kitchen/temp')).toMatchObject({ count: 11, topics: 1, branch: false });
    // 17 messages in the 5 s window of the meter.
    expect(row('home').perSecond).toBeCloseTo(17 / 5);
    expect(row('home/hall').perSecond).toBeCloseTo(5 / 5);
    expect(row('home/hall').perSecond + row('home/kitchen').perSecond + 1 / 5).toBeCloseTo(row('home').perSecond);
  });

  it('opens and closes branches, and shows only the rows of open ones', () => {
    const t = topics();
    for (const topic of ['a/b/c/d', 'a/b/c/e', 'a/x', 'z']) t.record(topic, bytes('1'), false, 1);
    t.frame();
    expect(shown(t.tree)).toEqual(['0:a', '1:b', '2:c', '1:x', '0:z']);
    t.tree.setOpen('a/b/c', true);
    expect(shown(t.tree)).toEqual(['0:a', '1:b', '2:c', '3:d', '3:e', '1:x', '0:z']);
    t.tree.setOpen('a', false);
    expect(shown(t.tree)).toEqual(['0:a', '0:z']);
    expect(t.tree.row(t.tree.find('a')!, 1)).toMatchObject({ branch: true, open: false, count: 3 });
    t.tree.setOpen('a', true);
    expect(shown(t.tree)).toEqual(['0:a', '1:b', '2:c', '3:d', '3:e', '1:x', '0:z']);
  });

  it('searches by part of a topic (any case) or by an MQTT filter, opening what leads to a match', () => {
    const t = topics();
    for (const topic of ['devices/laptop/mouse/move', 'devices/laptop/status', 'devices/pi/status', 'bench/sensors/s1/reading', 'bench/sensors/s2/reading']) t.record(topic, bytes('1'), false, 1);
    t.frame();
    t.tree.setSearch('MOUSE');
    expect(shown(t.tree)).toEqual(['0:devices', '1:laptop', '2:mouse', '3:move']);
    t.tree.setSearch('+/+/status');
    expect(shown(t.tree)).toEqual(['0:devices', '1:laptop', '2:status', '1:pi', '2:status']);
    t.tree.setSearch('bench/sensors/+/reading');
    expect(shown(t.tree)).toEqual(['0:bench', '1:sensors', '2:s1', '3:reading', '2:s2', '3:reading']);
    t.tree.setSearch('devices/#');
    expect(shown(t.tree)).toHaveLength(7);
    // `+` inside a level is no wildcard: it is searched for as text.
    t.tree.setSearch('a+b');
    expect(shown(t.tree)).toEqual([]);
    t.tree.setSearch('');
    expect(shown(t.tree)).toEqual(['0:bench', '1:sensors', '2:s1', '2:s2', '0:devices', '1:laptop', '2:mouse', '2:status', '1:pi', '2:status']);
  });

  it('reads a search as a filter only when its wildcards are whole levels', () => {
    expect(topicSearch('')).toBeNull();
    expect(topicSearch('a/#')!('a')).toBe(true);
    expect(topicSearch('a/#')!('a/b/c')).toBe(true);
    expect(topicSearch('+/b')!('x/b')).toBe(true);
    expect(topicSearch('+/b')!('x/b/c')).toBe(false);
    expect(topicSearch('#')!('$SYS/x')).toBe(false);
    expect(topicSearch('a#')!('xa#y')).toBe(true);
    expect(topicSearch('a/#/b')!('a/#/b')).toBe(true);
  });

  it('keeps each topic\'s last messages, and streams the selected topic\'s with QoS, retain flag and size', () => {
    const t = topics();
    for (let i = 0; i < 5; i++) t.record('s/x', json({ v: i, ts: 100 + i }), i === 0, 1000 + i, 1);
    t.frame();
    expect(t.stats.takeSelected()).toBeNull();
    t.stats.select('s/x');
    const first = t.stats.takeSelected()!;
    expect(first).toMatchObject({ topic: 's/x', reset: true });
    expect(first.messages.map((m) => m.id)).toEqual([0, 1, 2, 3, 4]);
    expect(first.messages[2]).toMatchObject({ at: 1002, qos: 1, retained: false, size: 16, numbers: { v: 2, ts: 102 } });
    expect(t.stats.takeSelected()).toBeNull();
    t.record('s/other', bytes('1'), false, 2000);
    t.record('s/x', new Uint8Array(KEPT_BYTES + 10), false, 2001, 2);
    const next = t.stats.takeSelected()!;
    expect(next.reset).toBe(false);
    expect(next.messages).toHaveLength(1);
    expect(next.messages[0]).toMatchObject({ qos: 2, size: KEPT_BYTES + 10 });
    expect(next.messages[0]!.bytes).toHaveLength(KEPT_BYTES);
    for (let i = 0; i < HISTORY_MESSAGES * 3; i++) t.record('s/x', bytes(String(i)), false, 3000 + i);
    expect(t.stats.takeSelected()!.messages).toHaveLength(HISTORY_MESSAGES);
    const history = new TopicHistory();
    history.select('s/x');
    history.apply(first);
    history.apply({ topic: 's/old', reset: false, messages: next.messages });
    expect(history.messages().map((m) => m.id)).toEqual([4, 3, 2, 1, 0]);
    history.apply(next);
    expect(history.messages().map((m) => m.id)).toEqual([5, 4, 3, 2, 1, 0]);
    for (let i = 0; i < 3; i++) history.apply({ topic: 's/x', reset: false, messages: Array.from({ length: 50 }, (_, j) => ({ ...first.messages[0]!, id: 100 + i * 50 + j })) });
    expect(history.messages()).toHaveLength(HISTORY_MESSAGES);
    expect(history.messages()[0]!.id).toBe(249);
  });

  it('keeps at most HISTORY_MESSAGES of a topic before it is opened, and KEPT_TOPIC_BYTES of them besides the newest', () => {
    const t = topics();
    for (let i = 0; i < HISTORY_MESSAGES * 2; i++) t.record('small', bytes(String(i)), false, 1000 + i);
    t.stats.select('small');
    expect(t.stats.takeSelected()!.messages.map((m) => m.id)).toEqual(Array.from({ length: HISTORY_MESSAGES }, (_, i) => HISTORY_MESSAGES + i));
    const big = 4 * 1024;
    for (let i = 0; i < 20; i++) t.record('big', new Uint8Array(big), false, 2000 + i);
    t.record('big', new Uint8Array(KEPT_BYTES * 2), false, 3000);
    t.stats.select('big');
    const kept = t.stats.takeSelected()!.messages;
    expect(kept.at(-1)!.size).toBe(KEPT_BYTES * 2);
    expect(kept.slice(0, -1).reduce((sum, m) => sum + m.bytes.length, 0)).toBeLessThanOrEqual(KEPT_TOPIC_BYTES);
    expect(kept).toHaveLength(1 + KEPT_TOPIC_BYTES / big);

  });

  it('takes a topic whose retained message is cleared out of the tree, with its counts and the levels left empty', () => {
    const t = topics();
    t.record('old/dev/status', bytes('online'), true, 1);
    t.record('old/dev/meta', bytes('{}'), true, 1);
    t.record('old/live', bytes('x'), false, 1);
    t.record('old/live', bytes(''), false, 2); // empty, but not a clear (MQTT 5: no retain flag): a message like any other
    t.frame();
    expect(shown(t.tree)).toEqual(['0:old', '1:dev', '2:meta', '2:status', '1:live']);
    t.clear('old/dev/status', 3);
    t.frame();
    expect(t.tree.get('old/dev/status')).toBeUndefined();
    expect(shown(t.tree)).toEqual(['0:old', '1:dev', '2:meta', '1:live']);
    expect(t.tree.visible().find((n) => n.path === 'old')).toMatchObject({ total: 3, topics: 2 });
    t.clear('old/dev/meta', 4);
    t.frame();
    expect(shown(t.tree)).toEqual(['0:old', '1:live']);
    // A clear of a topic the tree no longer holds (cleared again by someone else) adds no empty row (issue 29).
    t.clear('old/dev/meta', 4);
    t.clear('never/seen', 4);
    t.frame();
    expect(shown(t.tree)).toEqual(['0:old', '1:live']);
    t.record('old/dev/status', bytes('online'), true, 5); // back again
    t.frame();
    expect(t.tree.get('old/dev/status')).toMatchObject({ count: 1, retained: true });
  });

  it('stops adding topics past its cap', () => {
    const t = topics();
    for (let i = 0; i < MAX_TOPICS + 5; i++) t.record(`t/${i}`, bytes('1'), false, 1);
    t.frame();
    expect(t.tree.size).toBe(MAX_TOPICS);
    expect(t.tree.overflow).toBe(5);
  });
});

describe('LiveConnection (the worker) and what the page gets of it', () => {
  afterEach(() => vi.restoreAllMocks());
  const connection = () => new LiveConnection(() => {});

  it('decodes each payload once, for the explorer, the devices and the log alike', () => {
    const live = connection();
    const parse = vi.spyOn(JSON, 'parse');
    live.receive('devices/d/mouse/click', json({ x: 1, y: 2, button: 'left', pressed: true, ts: 1, seq: 0 }), false);
    live.receive('clients/v1/messages', json({ text: 'hi', ts: 5 }), false);
    expect(parse).toHaveBeenCalledTimes(2);
    const frame = live.takeFrame();
    expect(frame.topics.map((t) => t.topic)).toEqual(['devices/d/mouse/click', 'clients/v1/messages']);
    expect(frame.devices.changed).toEqual([expect.objectContaining({ id: 'd', pointer: { x: 1, y: 2 } })]);
    expect(frame.log.map((l) => l.text)).toEqual(['left pressed at (1, 2)', 'messages: hi']);
  });

  it('sends a frame of what changed only: moves folded, only valid client messages, the connection once', () => {
    const live = connection();
    expect(live.takeFrame().connection).toMatchObject({ connection: 'connecting' });
    for (let i = 0; i < 1000; i++) live.receive('devices/d/mouse/move', json({ x: i, y: i, ts: i, seq: i }), false);
    live.receive('clients/v1/messages', json({ text: 'hi', ts: 5 }), false);
    live.receive('clients/v1/messages', json({ text: '', ts: 5 }), false);
    live.receive('devices/old/status', bytes('offline'), true);
    const frame = live.takeFrame();
    expect(frame.connection).toBeUndefined();
    expect(frame.log).toEqual([expect.objectContaining({ kind: 'move', count: 1000 }), expect.objectContaining({ kind: 'message' }), expect.objectContaining({ kind: 'message' })]);
    expect(frame.messages).toEqual([{ from: 'v1', text: 'hi', ts: 5 }]);
    expect(frame.devices.changed.map((d) => d.id)).toEqual(['d', 'old']);
    expect(frame.devices.changed[0]!.trail.length).toBeLessThanOrEqual(120);
    expect(live.takeFrame()).toMatchObject({ devices: { changed: [], removed: [] }, topics: [], log: [], messages: [] });

    const devices = new DeviceList();
    const log = new EventLog();
    const messages = new ClientMessages();
    devices.apply(frame.devices);
    log.addAll(frame.log);
    messages.addAll(frame.messages);
    expect(devices.list().map((d) => [d.id, d.status])).toEqual([['d', 'unknown'], ['old', 'offline']]);
    expect(devices.get('d')!.rate.perSecond(Date.now())).toBeGreaterThan(0);
    expect(log.filtered({ source: '', kind: 'move' })).toEqual([expect.objectContaining({ count: 1000 })]);
    expect(messages.list()).toEqual([{ id: 0, from: 'v1', text: 'hi', ts: 5 }]);
  });

  it("sends the selected topic's messages with their QoS and retain flag, and none once nothing is selected", () => {
    const live = connection();
    live.receive('lab/x', json({ v: 1 }), true, undefined, 1);
    live.handle({ type: 'select', topic: 'lab/x' });
    live.receive('lab/x', json({ v: 2 }), false, undefined, 2);
    live.receive('lab/y', json({ v: 3 }), false);
    const frame = live.takeFrame();
    expect(frame.selected).toMatchObject({ topic: 'lab/x', reset: true, messages: [{ id: 0, qos: 1, retained: true }, { id: 1, qos: 2, retained: false }] });
    expect(live.takeFrame().selected).toBeUndefined();
    live.handle({ type: 'select', topic: null });
    live.receive('lab/x', json({ v: 4 }), false);
    expect(live.takeFrame().selected).toBeUndefined();
  });

  it('tells the page which devices it forgot when the list is full', () => {
    const reg = new DeviceRegistry();
    for (let i = 0; i < MAX_DEVICES; i++) applyTo(reg, `devices/old${i}/status`, bytes('offline'), 1, true);
    const page = new DeviceList();
    page.apply(reg.takeChanges(1));
    applyTo(reg, 'devices/real/mouse/move', json({ x: 1, y: 1, ts: 1, seq: 0 }), 2);
    const changes = reg.takeChanges(2);
    expect(changes.removed).toHaveLength(1);
    page.apply(changes);
    expect(page.list()).toHaveLength(MAX_DEVICES);
    expect(page.get('real')).toBeDefined();
  });

  it('answers an action it cannot do yet with a reason, and reports a frame by itself', async () => {
    const reports: Report[] = [];
    const live = new LiveConnection((r) => reports.push(r));
    live.handle({ type: 'send', id: 7, text: 'hi' });
    live.handle({ type: 'subscribe', id: 8, filter: '#' });
    await vi.waitFor(() => expect(reports.filter((r) => r.type === 'done')).toHaveLength(2));
    expect(reports).toContainEqual({ type: 'done', id: 7, error: { code: 'not-connected' } });
    live.receive('a/b', bytes('1'), false);
    await vi.waitFor(() => expect(reports.some((r) => r.type === 'frame' && r.frame.topics.length === 1)).toBe(true));
  });
});

describe('LogBatch', () => {
  it('folds the moves of one frame and keeps at most EVENT_LOG_ROWS lines', () => {
    const batch = new LogBatch();
    for (let i = 0; i < 3 * EVENT_LOG_ROWS; i++) batch.add({ at: i, topic: 't', source: `s${i % 2}`, kind: 'move', text: `${i}` });
    const lines = batch.take();
    expect(lines).toHaveLength(EVENT_LOG_ROWS);
    expect(lines.at(-1)!.at).toBe(3 * EVENT_LOG_ROWS - 1);
    expect(batch.take()).toEqual([]);
  });
});

describe('ClientMessages and RateMeter', () => {
  it('lists messages with their sender, newest first', () => {
    const m = new ClientMessages();
    m.addAll([{ from: 'v1', text: 'hi', ts: 5 }, { from: 'v2', text: 'ho', ts: 6 }]);
    expect(m.list()).toEqual([{ id: 1, from: 'v2', text: 'ho', ts: 6 }, { id: 0, from: 'v1', text: 'hi', ts: 5 }]);
  });

  it('measures events per second over its window', () => {
    const r = new RateMeter(5);
    for (let i = 0; i < 50; i++) r.add(10_000 + i * 100); // 10 per second for 5 s
    expect(r.perSecond(14_999)).toBe(10);
    expect(r.perSecond(30_000)).toBe(0);
  });

  it('is not disturbed by a reader whose clock lags the last event', () => {
    const r = new RateMeter(5);
    for (let i = 0; i < 50; i++) r.add(20_000 + i * 100);
    expect(r.perSecond(19_500)).toBe(10);
    r.add(25_000);
    expect(r.perSecond(25_000)).toBe(8.2); // 41 of the old in seconds 21..24, plus the new one
  });
});

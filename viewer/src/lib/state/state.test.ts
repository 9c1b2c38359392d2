import { describe, expect, it } from 'vitest';
import { ClientMessages } from './client-messages';
import { DeviceRegistry, TRAIL_MS } from './devices';
import { EventLog, EVENT_LOG_ROWS } from './event-log';
import { displayText, formatPayload, numericFields } from './payload-format';
import { RateMeter } from './rate';
import { MAX_TOPICS, PLOT_POINTS, TopicTable } from './topic-tree';

const bytes = (s: string) => new TextEncoder().encode(s);
const json = (v: unknown) => bytes(JSON.stringify(v));
const meta = { name: 'Laptop', kind: 'mouse', source: 'demo', screen: { width: 800, height: 600 }, host: 'h', version: '1', schema: 1, startedAt: 1 };

describe('DeviceRegistry', () => {
  it('builds presence from status and meta, and the pointer from events', () => {
    const reg = new DeviceRegistry();
    reg.apply('devices/laptop/status', bytes('online'), 1000);
    reg.apply('devices/laptop/meta', json(meta), 1000);
    const click = reg.apply('devices/laptop/mouse/click', json({ x: 5, y: 6, button: 'right', pressed: true, ts: 1, seq: 0 }), 1100);
    expect(click).toMatchObject({ device: 'laptop', event: 'click' });
    const d = reg.get('laptop')!;
    expect(d).toMatchObject({ status: 'online', pointer: { x: 5, y: 6 }, meta: { source: 'demo' } });
    expect(d.marks).toEqual([expect.objectContaining({ kind: 'click', button: 'right', pressed: true })]);
    expect(d.lastClick).toMatchObject({ x: 5, y: 6, button: 'right' });
    reg.apply('devices/laptop/status', bytes('offline'), 1200);
    expect(reg.get('laptop')!.status).toBe('offline');
  });

  it('shows a device that only sends events, counts gaps in seq, and ignores bad payloads', () => {
    const reg = new DeviceRegistry();
    reg.apply('devices/pi/mouse/move', json({ x: 1, y: 1, ts: 1, seq: 0 }), 1);
    reg.apply('devices/pi/mouse/move', json({ x: 2, y: 2, ts: 1, seq: 4 }), 2);
    expect(reg.get('pi')).toMatchObject({ status: 'online', missed: 3, pointer: { x: 2, y: 2 } });
    reg.apply('devices/pi/mouse/click', json({ x: 2, y: 2, button: 'left', pressed: true, ts: 1, seq: 2 }), 2); // late, not lost
    expect(reg.get('pi')!.missed).toBe(2);
    reg.apply('devices/pi/meta', json(meta), 2);
    reg.apply('devices/pi/meta', json({ ...meta, startedAt: 2 }), 2); // a new run: meta.startedAt tells runs apart
    reg.apply('devices/pi/mouse/move', json({ x: 2, y: 2, ts: 1, seq: 0 }), 2);
    expect(reg.get('pi')!.missed).toBe(0);
    expect(reg.apply('devices/pi/mouse/move', bytes('<img src=x onerror=alert(1)>'), 3)).toBeNull();
    expect(reg.apply('devices/pi/temperature', bytes('21'), 3)).toBeNull();
    expect(reg.get('pi')!.lastSeen).toBe(3); // a sensor reading is a sign of life too
    reg.apply('devices/sensor-only/humidity', bytes('40'), 4);
    reg.apply('devices/bad.id/humidity', bytes('40'), 4);
    reg.apply('devices/old/humidity', bytes('40'), 4, true); // retained: maybe old news, not a sign of life
    expect(reg.list().map((d) => [d.id, d.status])).toEqual([['pi', 'online'], ['sensor-only', 'online']]);
  });

  it('prunes the trail after it has faded, and keeps it capped', () => {
    const reg = new DeviceRegistry();
    for (let i = 0; i < 1000; i++) reg.apply('devices/d/mouse/move', json({ x: i, y: i, ts: i, seq: i }), i);
    expect(reg.get('d')!.trail.length).toBeLessThanOrEqual(120);
    reg.apply('devices/d/mouse/move', json({ x: 0, y: 0, ts: 0, seq: 1000 }), 1000 + TRAIL_MS + 1);
    expect(reg.get('d')!.trail).toHaveLength(1);
  });
});

describe('EventLog', () => {
  const rec = (device: string, event: 'move' | 'click', at: number) => ({ device, event, payload: {}, at });

  it('is newest first, capped, filterable, pausable and clearable', () => {
    const log = new EventLog();
    for (let i = 0; i < EVENT_LOG_ROWS + 50; i++) log.add(rec(i % 2 ? 'a' : 'b', i % 3 ? 'move' : 'click', i));
    const all = log.filtered({ device: '', event: '' });
    expect(all).toHaveLength(EVENT_LOG_ROWS);
    expect(all[0]!.at).toBe(EVENT_LOG_ROWS + 49);
    expect(log.filtered({ device: 'a', event: 'click' }).every((r) => r.device === 'a' && r.event === 'click')).toBe(true);
    log.setPaused(true);
    log.add(rec('a', 'move', 9999));
    expect(log.missedWhilePaused).toBe(1);
    expect(log.filtered({ device: '', event: '' })[0]!.at).not.toBe(9999);
    log.setPaused(false);
    log.clear();
    expect(log.filtered({ device: '', event: '' })).toEqual([]);
  });
});

describe('payload formatting', () => {
  it('shows JSON pretty, text as text, binary as size and hex', () => {
    expect(displayText(formatPayload(json({ a: 1 })))).toBe('{\n  "a": 1\n}');
    expect(formatPayload(bytes('<b>hi</b>'))).toEqual({ kind: 'text', text: '<b>hi</b>' });
    expect(formatPayload(new Uint8Array([0xff, 0x00, 0x10]))).toEqual({ kind: 'binary', size: 3, text: '3 bytes: ff 00 10' });
    expect(displayText(formatPayload(bytes('x'.repeat(5000))))).toMatch(/… \(5000 characters\)$/);
  });

  it('extracts numbers to plot', () => {
    expect(numericFields(formatPayload(bytes('21.5')))).toEqual({ value: 21.5 });
    expect(numericFields(formatPayload(json({ load: 0.4, name: 'x', cpu: { temp: 51 } })))).toEqual({ load: 0.4, 'cpu.temp': 51 });
    expect(numericFields(formatPayload(bytes('online')))).toEqual({});
    expect(numericFields(formatPayload(bytes('')))).toEqual({});
    expect(Object.keys(numericFields(formatPayload(json(Object.fromEntries([...Array(50).keys()].map((k) => [`f${k}`, k]))))))).toHaveLength(8);
  });
});

describe('TopicTable', () => {
  it('keeps count, retained flag, last payload and capped numeric series per topic, as a tree', () => {
    const t = new TopicTable();
    t.record('devices/pi/temperature/celsius', bytes('21'), true, 1000);
    for (let i = 0; i < PLOT_POINTS + 10; i++) t.record('devices/pi/temperature/celsius', bytes(String(i)), false, 1000 + i);
    t.record('devices/laptop/status', bytes('online'), true, 1000);
    const stats = t.get('devices/pi/temperature/celsius')!;
    expect(stats.count).toBe(PLOT_POINTS + 11);
    expect(stats.retained).toBe(false);
    expect(stats.series.get('value')).toHaveLength(PLOT_POINTS);
    expect(stats.series.get('value')!.at(-1)).toBe(PLOT_POINTS + 9);
    t.record('devices/a', bytes('1'), false, 1000);
    expect(t.rows().map((r) => `${r.depth}:${r.name}`)).toEqual(['0:devices', '1:a', '1:laptop', '2:status', '1:pi', '2:temperature', '3:celsius']);
  });

  it('hands out a new row only for a topic that changed, and sorts new topics in place', () => {
    const t = new TopicTable();
    t.record('b/x', bytes('1'), false, 1);
    t.record('a/y', bytes('1'), false, 1);
    const before = t.rows();
    t.record('b/x', bytes('2'), false, 2);
    t.record('a/a', bytes('3'), false, 2);
    const after = t.rows();
    expect(after.map((r) => r.path)).toEqual(['a', 'a/a', 'a/y', 'b', 'b/x']);
    const row = (rows: readonly { path: string }[], path: string) => rows.find((r) => r.path === path);
    expect(row(after, 'a/y')).toBe(row(before, 'a/y'));
    expect(row(after, 'b/x')).not.toBe(row(before, 'b/x'));
    expect(row(after, 'b/x')).toMatchObject({ stats: { count: 2, series: new Map([['value', [1, 2]]]) } });
    expect(row(before, 'b/x')).toMatchObject({ stats: { count: 1, series: new Map([['value', [1]]]) } });
  });

  it('stops adding topics past its cap', () => {
    const t = new TopicTable();
    for (let i = 0; i < MAX_TOPICS + 5; i++) t.record(`t/${i}`, bytes('1'), false, 1);
    expect(t.size).toBe(MAX_TOPICS);
    expect(t.overflow).toBe(5);
  });
});

describe('ClientMessages and RateMeter', () => {
  it('lists valid messages with their sender', () => {
    const m = new ClientMessages();
    expect(m.apply('clients/v1/messages', json({ text: 'hi', ts: 5 }))).toBe(true);
    expect(m.apply('clients/v1/messages', json({ text: '', ts: 5 }))).toBe(false);
    expect(m.list()).toEqual([{ id: 0, from: 'v1', text: 'hi', ts: 5 }]);
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

import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseRecording, type RecordedMessage, type RecordingHeader } from '../../../../protocol/recording';
import { CLOCKS_SUSPECT_MS, figures, LatencyMeter } from './latency';
import { MAX_RETAINED_TOPICS, PageRecorder, RetainedState } from './page-recorder';
import { Playback } from './playback';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('latency figures', () => {
  it('gives p50, p95 and max by nearest rank', () => {
    const f = figures('d', Array.from({ length: 100 }, (_, i) => 100 - i));
    expect(f).toMatchObject({ samples: 100, p50: 50, p95: 95, max: 100, clocksDifferMs: null });
  });

  it('says how far the clocks differ when a latency is negative or the fastest is implausibly slow', () => {
    expect(figures('d', [-5000, -4990, -4980]).clocksDifferMs).toBe(5000);
    expect(figures('d', [CLOCKS_SUSPECT_MS + 500, CLOCKS_SUSPECT_MS + 900]).clocksDifferMs).toBe(CLOCKS_SUSPECT_MS + 500);
    expect(figures('d', [0, 3, CLOCKS_SUSPECT_MS + 10]).clocksDifferMs).toBeNull(); // one slow event is a slow event
  });

  it('keeps only the last window, and reports only devices with new events', () => {
    const meter = new LatencyMeter();
    meter.add('a', 0, 9000); // 9 s late: alone in its window it is clocks
    meter.add('a', 20_000, 20_005);
    meter.add('a', 20_010, 20_011); // 11 s after the first: it is out of the window
    expect(meter.takeChanges()).toEqual([expect.objectContaining({ device: 'a', samples: 2, p50: 1, max: 5, clocksDifferMs: null })]);
    expect(meter.takeChanges()).toEqual([]);
  });
});

describe('page recorder', () => {
  it('writes a recording the format reads: header, retained state at t 0, then messages as received', () => {
    const retained = new RetainedState();
    retained.note('devices/a/status', bytes('online'), 1, false); // a contract topic that is retained
    retained.note('lab/temp', bytes('21'), 0, true);
    retained.note('lab/gone', bytes('x'), 0, true);
    retained.note('lab/gone', bytes(''), 0, true); // cleared
    retained.note('devices/a/mouse/move', bytes('{}'), 0, false); // live, not retained
    const recorder = new PageRecorder('ws://127.0.0.1:8080/mqtt', ['devices/#'], retained, 1000);
    recorder.add('devices/a/mouse/move', bytes('{"x":1}'), 0, false, 1250);
    recorder.add('lab/raw', new Uint8Array([0xff, 0]), 1, false, 1300);
    const { header, messages } = parseRecording(recorder.text());
    expect(header).toMatchObject({ startedAt: 1000, broker: 'ws://127.0.0.1:8080/mqtt', filters: ['devices/#'] });
    expect(messages.map((m) => [m.t, m.topic, m.retain, m.qos])).toEqual([
      [0, 'devices/a/status', true, 1],
      [0, 'lab/temp', true, 0],
      [250, 'devices/a/mouse/move', false, 0],
      [300, 'lab/raw', false, 1],
    ]);
    expect([...messages[3]!.payload]).toEqual([0xff, 0]);
    expect(recorder.fileName()).toMatch(/^mqlive-1970-01-01T00-00-01-000Z\.jsonl$/);
  });
});

describe('retained state', () => {
  it('holds at most MAX_RETAINED_TOPICS topics (what was held first stays; updates to held topics still count)', () => {
    const retained = new RetainedState();
    for (let i = 0; i <= MAX_RETAINED_TOPICS; i++) retained.note(`lab/${i}`, bytes('v'), 0, true);
    retained.note('lab/0', bytes('new'), 0, true);
    const entries = retained.entries();
    expect(entries.length).toBe(MAX_RETAINED_TOPICS);
    expect(new TextDecoder().decode(entries[0]![1].payload)).toBe('new');
    expect(entries.some(([topic]) => topic === `lab/${MAX_RETAINED_TOPICS}`)).toBe(false);
  });
});

describe('playback', () => {
  afterEach(() => vi.useRealTimers());

  const message = (t: number, topic: string): RecordedMessage => ({ t, topic, payload: bytes(topic), qos: 0, retain: t === 0 });
  const header: RecordingHeader = { mqlive: 'recording', version: 1, startedAt: 5000, broker: 'b', filters: ['#'] };

  function playbackOf(messages: RecordedMessage[]) {
    const applied: string[] = [];
    const recordedAt: number[] = [];
    const target = {
      apply: (m: RecordedMessage, at: number) => {
        applied.push(m.topic);
        recordedAt.push(at);
      },
      reset: () => applied.splice(0),
      changed: () => {},
    };
    return { playback: new Playback('r.jsonl', header, messages, target), applied, recordedAt };
  }

  it('applies the state at the start at once, then each message when the clock passes its t, at the speed asked', () => {
    vi.useFakeTimers({ now: 0 });
    const { playback, applied, recordedAt } = playbackOf([message(0, 's'), message(1000, 'a'), message(2000, 'b')]);
    expect(applied).toEqual(['s']);
    expect(playback.info()).toMatchObject({ state: 'paused', positionMs: 0, durationMs: 2000, messages: 3 });
    playback.setSpeed(2);
    playback.play();
    vi.advanceTimersByTime(520);
    expect(applied).toEqual(['s', 'a']);
    vi.advanceTimersByTime(500);
    expect(applied).toEqual(['s', 'a', 'b']);
    expect(recordedAt).toEqual([5000, 6000, 7000]);
    expect(playback.info().state).toBe('ended');
  });

  it('pauses where it is, and seeking back starts the models again up to the new position', () => {
    vi.useFakeTimers({ now: 0 });
    const { playback, applied } = playbackOf([message(0, 's'), message(1000, 'a'), message(2000, 'b')]);
    playback.play();
    vi.advanceTimersByTime(1100);
    playback.pause();
    vi.advanceTimersByTime(5000);
    expect(applied).toEqual(['s', 'a']);
    expect(playback.info().state).toBe('paused');
    playback.seek(0);
    expect(applied).toEqual(['s']);
    playback.seek(2000);
    expect(applied).toEqual(['s', 'a', 'b']);
    playback.setSpeed(3); // not offered: ignored
    expect(playback.info().speed).toBe(1);
  });
});

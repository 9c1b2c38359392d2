import { describe, expect, it } from 'vitest';
import { encodeHeader, encodeMessage, fromBase64, parseHeader, parseMessage, parseRecording, RecordingError, RecordingReader, toBase64, type RecordedMessage } from './recording';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (s: string) => new TextEncoder().encode(s);

describe('recording format', () => {
  it('writes the header the README shows and reads it back', () => {
    const line = encodeHeader({ startedAt: 1764120000000, broker: 'mqtt://127.0.0.1:1883', filters: ['devices/#', 'lab/+'] });
    expect(JSON.parse(line)).toEqual({ mqlive: 'recording', version: 1, startedAt: 1764120000000, broker: 'mqtt://127.0.0.1:1883', filters: ['devices/#', 'lab/+'] });
    expect(parseHeader(line)).toEqual(JSON.parse(line));
  });

  it('stores UTF-8 payloads as text and everything else as base64, and gives back the same bytes', () => {
    const cases: [Uint8Array, 'payload' | 'payloadBase64'][] = [
      [text('{"x":1,"y":2,"ts":3,"seq":0}'), 'payload'],
      [text('héllo ✓ 😀'), 'payload'],
      [bytes(0xef, 0xbb, 0xbf, 0x41), 'payload'], // a byte-order mark is kept, not eaten
      [bytes(), 'payload'], // an empty payload (clears a retained message)
      [bytes(0, 1, 2, 0xff, 0xfe), 'payloadBase64'],
      [bytes(0xc3), 'payloadBase64'], // a truncated UTF-8 sequence
      [bytes(0xed, 0xa0, 0x80), 'payloadBase64'], // an encoded surrogate is not valid UTF-8
      [Uint8Array.from({ length: 256 }, (_, i) => i), 'payloadBase64'],
    ];
    for (const [payload, field] of cases) {
      const message: RecordedMessage = { t: 5, topic: 'lab/x', payload, qos: 1, retain: false };
      const line = encodeMessage(message);
      expect(Object.keys(JSON.parse(line))).toEqual(['t', 'topic', field, 'qos', 'retain']);
      expect(line).not.toContain('\n');
      expect(parseMessage(line, 2)).toEqual(message);
    }
  });

  it('base64 matches the standard encoding for every length and byte', () => {
    for (let length = 0; length < 40; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 255);
      const standard = Buffer.from(data).toString('base64');
      expect(toBase64(data)).toBe(standard);
      expect(fromBase64(standard)).toEqual(data);
    }
    expect(fromBase64('abc')).toBeNull();
    expect(fromBase64('ab!=')).toBeNull();
    expect(fromBase64('a=bc')).toBeNull();
  });

  it('refuses each broken line with its line number and what is wrong', () => {
    const broken: [string, RegExp][] = [
      ['{"t":1,"topic":"a","payload":"x","qos":1,"ret', /line 7: not valid JSON \(a truncated line/],
      ['[1,2]', /line 7: not a JSON object/],
      ['{"topic":"a","payload":"x","qos":1,"retain":false}', /line 7: "t" must be/],
      ['{"t":-1,"topic":"a","payload":"x","qos":1,"retain":false}', /line 7: "t" must be/],
      ['{"t":1,"topic":"","payload":"x","qos":1,"retain":false}', /line 7: "topic" must be/],
      ['{"t":1,"topic":"a/#","payload":"x","qos":1,"retain":false}', /line 7: "topic" "a\/#" has a wildcard/],
      ['{"t":1,"topic":"a","payload":"x","qos":3,"retain":false}', /line 7: "qos" must be 0, 1 or 2/],
      ['{"t":1,"topic":"a","payload":"x","qos":1}', /line 7: "retain" must be/],
      ['{"t":1,"topic":"a","qos":1,"retain":false}', /line 7: a message needs exactly one of/],
      ['{"t":1,"topic":"a","payload":"x","payloadBase64":"AA==","qos":1,"retain":false}', /line 7: a message needs exactly one of/],
      ['{"t":1,"topic":"a","payload":{"x":1},"qos":1,"retain":false}', /line 7: "payload" must be a string/],
      ['{"t":1,"topic":"a","payloadBase64":"not base64!","qos":1,"retain":false}', /line 7: "payloadBase64" must be base64/],
    ];
    for (const [line, message] of broken) {
      expect(() => parseMessage(line, 7), line).toThrow(message);
      try {
        parseMessage(line, 7);
      } catch (error) {
        expect(error).toBeInstanceOf(RecordingError);
        expect((error as RecordingError).line).toBe(7);
      }
    }
  });

  it('refuses a file that is not a version 1 recording on its first line', () => {
    expect(() => parseHeader('{"t":0,"topic":"a","payload":"x","qos":0,"retain":false}')).toThrow(/line 1: not an mqlive recording/);
    expect(() => parseHeader('{"mqlive":"recording","version":2,"startedAt":1,"broker":"b","filters":[]}')).toThrow(/line 1: recording version 2; this mqlive reads version 1/);
    expect(() => parseHeader('{"mqlive":"recording","version":1,"startedAt":1,"broker":"b","filters":"#"}')).toThrow(/"filters" must be a list/);
    expect(() => parseRecording('')).toThrow(/line 1: empty: no header line/);
  });

  it('reads line by line: the header, messages, blank lines skipped, and time that goes back refused', () => {
    const header = encodeHeader({ startedAt: 1, broker: 'mqtt://b', filters: ['#'] });
    const m = (t: number) => encodeMessage({ t, topic: 'a', payload: text(String(t)), qos: 0, retain: false });
    const reader = new RecordingReader();
    expect(reader.push(header)).toBeNull();
    expect(reader.push(m(0))?.t).toBe(0);
    expect(reader.push('')).toBeNull();
    expect(reader.push(m(10))?.t).toBe(10);
    expect(reader.push(m(10))?.t).toBe(10);
    // The state at the start may come in among the first live messages.
    expect(reader.push(encodeMessage({ t: 0, topic: 'a', payload: text('on'), qos: 1, retain: true }))?.t).toBe(0);
    expect(() => reader.push(encodeMessage({ t: 0, topic: 'a', payload: text('on'), qos: 1, retain: false }))).toThrow(/line 7: "t" goes back in time \(0 after 10\)/);
    expect(() => reader.push(m(9))).toThrow(/line 8: "t" goes back in time \(9 after 10\)/);

    const whole = parseRecording(`${header}\r\n${m(0)}\n${m(3)}\n`);
    expect(whole.header.filters).toEqual(['#']);
    expect(whole.messages.map((x) => x.t)).toEqual([0, 3]);
    expect(() => parseRecording(`${header}\n${m(0)}\n${m(3).slice(0, 20)}`)).toThrow(/line 3: not valid JSON/);
  });
});

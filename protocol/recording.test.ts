import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_PROPERTY_BYTES, MAX_USER_PROPERTIES, type MessageProperties } from './message-properties';
import { encodeHeader, encodeMessage, fromBase64, parseHeader, parseMessage, parseRecording, readRecordingStream, RecordingError, RecordingReader, toBase64, type RecordedMessage } from './recording';

const bytes = (...values: number[]) => new Uint8Array(values);
const text = (s: string) => new TextEncoder().encode(s);

describe('recording format', () => {
  it('writes the header docs/record-replay.md shows and reads it back', () => {
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

/** Byte chunks as a stream reader gets them. */
async function* chunksOf(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield typeof part === 'string' ? text(part) : part;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

async function refusal(run: () => Promise<unknown>): Promise<RecordingError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(RecordingError);
    return error as RecordingError;
  }
  throw new Error('not refused');
}

describe('recording limits (issue 26)', () => {
  const header = encodeHeader({ startedAt: 1, broker: 'mqtt://b', filters: ['#'] });
  const line = (fields: Record<string, unknown>) => JSON.stringify({ t: 1, topic: 'lab/x', payload: 'p', qos: 0, retain: false, ...fields });
  const DAYS_366 = 366 * 24 * 60 * 60 * 1000;

  it('a time must be finite, at least 0 and at most 366 days (1e15 overflowed the timer)', () => {
    for (const t of [1e15, 1e13, DAYS_366 + 1, Number.MAX_VALUE]) {
      expect(() => parseMessage(line({ t }), 4), String(t)).toThrow(/line 4: "t" must be a number of milliseconds from 0 to 31622400000 \(366 days\)/);
    }
    expect(parseMessage(line({ t: DAYS_366 }), 4).t).toBe(DAYS_366);
    expect(() => parseHeader(JSON.stringify({ mqlive: 'recording', version: 1, startedAt: 1e300, broker: 'b', filters: [] }))).toThrow(/line 1: "startedAt"/);
  });

  it('a refused value is never serialized whole: a version nested 100,000 deep is a RecordingError, not a RangeError', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(() => parseHeader(`{"mqlive":"recording","version":${deep},"startedAt":1,"broker":"b","filters":[]}`)).toThrow(/line 1: recording version an array; this mqlive reads version 1/);
    const long = 'v'.repeat(100_000);
    const error = (() => {
      try {
        parseHeader(JSON.stringify({ mqlive: 'recording', version: long, startedAt: 1, broker: 'b', filters: [] }));
      } catch (e) {
        return e as RecordingError;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RecordingError);
    expect(error!.message.length).toBeLessThan(200);
  });

  it('a topic MQTT cannot carry is refused: longer than 65,535 bytes, or with a lone surrogate; so is a payload that would not be sent as written', () => {
    expect(() => parseMessage(line({ topic: 'é'.repeat(40_000) }), 3)).toThrow(/line 3: "topic" is longer than MQTT allows \(65535 bytes\)/);
    expect(() => parseMessage(line({ topic: 'lab/\ud800' }), 3)).toThrow(/line 3: "topic" is not valid Unicode/);
    expect(() => parseMessage('{"t":1,"topic":"lab/x","payload":"a\\udc00b","qos":0,"retain":false}', 3)).toThrow(/line 3: "payload" is not valid Unicode/);
    expect(parseMessage(line({ topic: 'lab/😀', payload: '😀' }), 3).payload).toEqual(text('😀'));
  });

  it('splits a byte stream into the same lines wherever the chunks break, "\\r\\n" included', async () => {
    const file = `${header}\r\n${encodeMessage({ t: 0, topic: 'lab/é', payload: text('ü😀'), qos: 1, retain: false })}\n\n${line({ t: 5 })}`;
    const bytes = text(file);
    const whole = parseRecording(file);
    for (let cut = 0; cut <= bytes.length; cut += 7) {
      for (const size of [1, 5]) {
        const parts = [bytes.subarray(0, cut), ...Array.from({ length: Math.ceil((bytes.length - cut) / size) }, (_, i) => bytes.subarray(cut + i * size, cut + (i + 1) * size))];
        let seen: unknown;
        const messages = await collect(readRecordingStream(chunksOf(...parts), { onHeader: (h) => (seen = h) }));
        expect(messages).toEqual(whole.messages);
        expect(seen).toEqual(whole.header);
      }
    }
  });

  it('a line longer than the limit is refused naming its line, after reading no more of it than the limit (a line that never ends included)', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield text(`${header}\n${line({ t: 0 })}\n{"t":1,"topic":"lab/x","payload":"`);
      const chunk = new Uint8Array(64 * 1024).fill(0x61);
      for (;;) {
        pulled += 1;
        yield chunk;
      }
    }
    const error = await refusal(() => collect(readRecordingStream(endless(), { maxLineBytes: 1024 * 1024 })));
    expect(error.message).toBe('line 3: longer than 1048576 bytes, the most a line may hold (--max-line-bytes raises it)');
    expect(pulled).toBeLessThanOrEqual(17);
    // The default is 1 MiB: exactly that is taken, one byte more is not; a "\r" before the newline does not count.
    const payloadOf = (total: number) => 'x'.repeat(total - line({ payload: '' }).length);
    const exact = line({ payload: payloadOf(1024 * 1024) });
    expect(text(exact).length).toBe(1024 * 1024);
    expect(await collect(readRecordingStream(chunksOf(`${header}\n${exact}\r\n`)))).toHaveLength(1);
    const over = line({ payload: payloadOf(1024 * 1024 + 1) });
    expect((await refusal(() => collect(readRecordingStream(chunksOf(`${header}\n${over}\n`))))).message).toMatch(/^line 2: longer than 1048576 bytes/);
    expect((await refusal(() => collect(readRecordingStream(chunksOf(`${header}\n${line({})}\n`), { maxLineBytes: 20 })))).message).toMatch(/^line 1: longer than 20 bytes/);
  });

  it('bytes that are not UTF-8 are refused with the line', async () => {
    const bad = Uint8Array.from([...text('{"t":1,"topic":"lab/x","payload":"'), 0xff, 0xfe, ...text('","qos":0,"retain":false}\n')]);
    expect((await refusal(() => collect(readRecordingStream(chunksOf(`${header}\n`, bad))))).message).toBe('line 2: not UTF-8 text');
  });

  it("a caller's own rule refuses a message with its line number", async () => {
    const file = `${header}\n${line({ topic: 'lab/a' })}\n\n${line({ topic: '$SYS/x' })}\n`;
    const problemOf = (m: RecordedMessage) => (m.topic.startsWith('$') ? 'reserved' : null);
    expect((await refusal(() => collect(readRecordingStream(chunksOf(file), { problemOf })))).message).toBe('line 4: reserved');
  });

  // Found by recording.fuzz.test.ts.
  it('fuzz finds: a t or qos of -0 is read as 0 (as it is written back); a whole text counts lines as a stream reader does', async () => {
    expect(Object.is(parseMessage(line({ t: 0 }).replace('"t":0', '"t":-0'), 2).t, 0)).toBe(true);
    expect(Object.is(parseMessage(line({ qos: 0 }).replace('"qos":0', '"qos":-0'), 2).qos, 0)).toBe(true);
    expect(() => parseRecording('\n')).toThrow(/^line 1: empty: no header line$/);
    expect((await refusal(() => collect(readRecordingStream(chunksOf('\n'))))).message).toBe('line 1: empty: no header line');
  });
});

describe('MQTT 5 properties in a recording (issue 27)', () => {
  const header = encodeHeader({ startedAt: 1, broker: 'mqtt://b', filters: ['#'] });
  const line = (properties: unknown) => JSON.stringify({ t: 1, topic: 'lab/x', payload: 'p', qos: 1, retain: false, properties });
  const full: MessageProperties = {
    contentType: 'application/json',
    payloadFormatIndicator: true,
    messageExpiryInterval: 60,
    responseTopic: 'lab/answer',
    correlationData: text('req-17'),
    userProperties: { unit: 'mm', tag: ['a', 'b'] },
  };

  it('the example in docs/record-replay.md is a recording this reader takes, properties as the writer writes them', () => {
    const docs = readFileSync(new URL('../docs/record-replay.md', import.meta.url), 'utf8');
    const example = docs.match(/```json\n([\s\S]*?)```/)![1]!;
    const { messages } = parseRecording(example);
    const withProperties = messages.filter((m) => m.properties);
    expect(withProperties.map((m) => m.properties)).toEqual([{ ...full, correlationData: text('req-17') }, { correlationData: bytes(0, 1, 0xff, 0xfe) }]);
    for (const m of messages) expect(example).toContain(encodeMessage(m));
  });

  it('writes them in the documented form and reads them back; binary correlation data as base64, like a payload', () => {
    const message: RecordedMessage = { t: 40, topic: 'lab/ask', payload: text('{}'), qos: 1, retain: false, properties: full };
    const written = encodeMessage(message);
    expect(written).toBe(
      '{"t":40,"topic":"lab/ask","payload":"{}","qos":1,"retain":false,"properties":{"contentType":"application/json","payloadFormatIndicator":true,' +
        '"messageExpiryInterval":60,"responseTopic":"lab/answer","correlationData":"req-17","userProperties":{"unit":"mm","tag":["a","b"]}}}',
    );
    expect(parseMessage(written, 2)).toEqual(message);
    const binary: RecordedMessage = { ...message, properties: { correlationData: bytes(0, 0xff, 0xfe) } };
    expect(JSON.parse(encodeMessage(binary)).properties).toEqual({ correlationDataBase64: 'AP/+' });
    expect(parseMessage(encodeMessage(binary), 2)).toEqual(binary);
  });

  it('a line without "properties" (every recording made before MQTT 5) is a message without any; so is an empty "properties"', () => {
    const old = '{"t":1,"topic":"lab/x","payload":"p","qos":1,"retain":false}';
    expect(parseMessage(old, 2)).toEqual({ t: 1, topic: 'lab/x', payload: text('p'), qos: 1, retain: false });
    expect('properties' in parseMessage(old, 2)).toBe(false);
    expect('properties' in parseMessage(line({}), 2)).toBe(false);
    expect(parseRecording(`${header}\n${old}\n${line({ contentType: 'text/plain' })}\n`).messages.map((m) => m.properties)).toEqual([undefined, { contentType: 'text/plain' }]);
  });

  it('a user property named __proto__ is a user property like any other, not a prototype', () => {
    const parsed = parseMessage('{"t":1,"topic":"lab/x","payload":"p","qos":1,"retain":false,"properties":{"userProperties":{"__proto__":"x","a":"b"}}}', 2);
    const user = parsed.properties!.userProperties!;
    expect(Object.keys(user)).toEqual(['__proto__', 'a']);
    expect(Object.getOwnPropertyDescriptor(user, '__proto__')?.value).toBe('x');
    expect(encodeMessage(parsed)).toContain('"userProperties":{"__proto__":"x","a":"b"}');
  });

  it('refuses properties of the wrong type, unknown ones (a topic alias or a subscription identifier belongs to one hop), and more than the broker takes', () => {
    const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
    const broken: [unknown, RegExp][] = [
      ['text', /"properties" must be an object/],
      [[], /"properties" must be an object/],
      [{ topicAlias: 3 }, /"properties" has "topicAlias", which is not one a recording keeps/],
      [{ subscriptionIdentifier: 1 }, /"properties" has "subscriptionIdentifier", which is not one/],
      [{ contentType: 1 }, /"contentType" must be a string/],
      [{ contentType: 'a\u0000b' }, /"properties": "contentType" has a NUL character/],
      [{ payloadFormatIndicator: 1 }, /"payloadFormatIndicator" must be true or false/],
      [{ messageExpiryInterval: -1 }, /"messageExpiryInterval" must be whole seconds from 0 to 4294967295/],
      [{ messageExpiryInterval: 1.5 }, /"messageExpiryInterval" must be whole seconds/],
      [{ messageExpiryInterval: 2 ** 32 }, /"messageExpiryInterval" must be whole seconds/],
      [{ messageExpiryInterval: '60' }, /"messageExpiryInterval" must be whole seconds/],
      [{ responseTopic: 'lab/+' }, /"responseTopic" must be a topic name: not empty, no \+ or #/],
      [{ responseTopic: '' }, /"responseTopic" must be a topic name/],
      [{ responseTopic: 'lab/\ud800' }, /"responseTopic" is not valid Unicode/],
      [{ correlationData: 'a', correlationDataBase64: 'AA==' }, /may have one of "correlationData" \(text\) and "correlationDataBase64", not both/],
      [{ correlationData: 7 }, /"correlationData" must be a string/],
      [{ correlationData: '\udc00' }, /"correlationData" is not valid Unicode/],
      [{ correlationDataBase64: 'not base64!' }, /"correlationDataBase64" must be base64/],
      [{ userProperties: [['a', 'b']] }, /"userProperties" must be an object of strings/],
      [{ userProperties: { a: 1 } }, /"userProperties" must be an object of strings/],
      [{ userProperties: { a: [] } }, /"userProperties" must be an object of strings, or of non-empty lists/],
      [{ userProperties: { a: ['b', null] } }, /"userProperties" must be an object of strings/],
      [{ userProperties: { 'a\u0000': 'b' } }, /a user property name has a NUL character/],
      [{ userProperties: { a: 'b\u0000' } }, /the user property "a" has a NUL character/],
      [{ userProperties: many(MAX_USER_PROPERTIES + 1) }, /"properties": more than 32 user properties/],
      [{ userProperties: { k: Array.from({ length: MAX_USER_PROPERTIES + 1 }, () => 'v') } }, /more than 32 user properties/],
      [{ userProperties: { k: 'v'.repeat(MAX_PROPERTY_BYTES) } }, /"properties": properties of more than 16384 bytes/],
      [{ contentType: 'c'.repeat(8192), responseTopic: 'r'.repeat(8192), correlationData: 'x' }, /properties of more than 16384 bytes/],
    ];
    for (const [properties, problem] of broken) {
      expect(() => parseMessage(line(properties), 5), JSON.stringify(properties)?.slice(0, 80)).toThrow(problem);
      expect(() => parseMessage(line(properties), 5)).toThrow(/^line 5: /);
    }
    // Exactly the limits are taken.
    expect(Object.keys(parseMessage(line({ userProperties: many(MAX_USER_PROPERTIES) }), 5).properties!.userProperties!)).toHaveLength(32);
    const atLimit = { userProperties: { k: 'v'.repeat(MAX_PROPERTY_BYTES - 1) } };
    expect(parseMessage(line(atLimit), 5).properties).toEqual(atLimit);
    expect(parseMessage(line({ messageExpiryInterval: 2 ** 32 - 1 }), 5).properties).toEqual({ messageExpiryInterval: 2 ** 32 - 1 });
  });
});

/**
 * Fuzz target: the recording reader (issue 26). Whatever a line holds (JSON of any depth, size and keys, numbers
 * JSON cannot hold exactly, reserved and ill-formed topics, MQTT 5 properties of any type, number and size, random
 * bytes, any chunking of the stream), reading
 * gives a checked message or a RecordingError naming the line: never another error, never a hang.
 *
 * `make test` runs it briefly, `make fuzz` for long (test-support/fuzz.ts). Each failure found becomes a plain test
 * in recording.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect } from 'vitest';
import { fuzz } from '../test-support/fuzz';
import { CommandError } from '../cli/command';
import { readRecording } from '../recorder/recording-file';
import { propertiesProblem } from './message-properties';
import { encodeHeader, encodeMessage, MAX_RECORDING_MS, parseHeader, parseMessage, parseRecording, readRecordingStream, RecordingError, type RecordedMessage } from './recording';

/** Numbers as JSON text, the ones JSON.parse turns into Infinity or rounds included. */
const numberText = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String), // NaN and Infinity are not JSON: a refusal
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom('1e400', '-1e400', '1e15', '1e13', '-0', '0.5', '-1', '1E2', '9007199254740993', '1e-400', String(MAX_RECORDING_MS), String(MAX_RECORDING_MS + 1)),
);

/** A value nested up to 40,000 deep (the payload validator's RangeError came from 30,000). */
const deepText = fc.tuple(fc.nat(40_000), fc.constantFrom('[', '{"a":'), fc.constantFrom('1', '"x"', '[]')).map(([depth, open, inner]) => {
  const close = open === '[' ? ']' : '}';
  return open.repeat(depth) + inner + close.repeat(depth);
});

const stringText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('$SYS/broker/x', '$mqlive/clients/a/refused', 'a/+/b', 'a/#', '#', '+', 'a\u0000b', 'lab/\ud800', '\udc00', '', '/', 'devices/a/mouse/move'),
  fc.nat(70_000).map((n) => 'é'.repeat(n)),
).map((s) => JSON.stringify(s));

/** Any JSON value as text, of any depth and size, with keys of any kind. */
const valueText = fc.oneof(numberText, stringText, deepText, fc.json({ maxDepth: 4 }), fc.constantFrom('true', 'false', 'null', '[]', '{}', '"AAH/"', '"not base64!"', '0', '1', '2', '3'));

/** The MQTT 5 properties a recording keeps, within the limits and beyond them, as a line writes them or nearly (each value JSON text). */
const json = (v: unknown) => JSON.stringify(v);
const propertiesText = fc.oneof(
  fc
    .record(
      {
        contentType: fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }).map(json), valueText),
        payloadFormatIndicator: fc.oneof(fc.boolean().map(json), valueText),
        messageExpiryInterval: fc.oneof(fc.nat().map(json), fc.constantFrom('0', '4294967295', '4294967296', '-1', '1.5', '-0'), valueText),
        responseTopic: fc.oneof(fc.constantFrom('lab/answer', 'lab/+', '#', '', '$SYS/x', 'a\u0000b', 'lab/\ud800').map(json), valueText),
        correlationData: fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }).map(json), valueText),
        correlationDataBase64: fc.oneof(fc.uint8Array({ maxLength: 20 }).map((b) => json(Buffer.from(b).toString('base64'))), valueText),
        userProperties: fc.oneof(
          fc
            .dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 40 })), { maxKeys: 40 })
            .map(json),
          fc.constantFrom('{"__proto__":"x"}', json({ k: 'v'.repeat(16 * 1024) }), '{"k":[]}', '[["a","b"]]', '{"a":"b","a":["c"]}'),
          valueText,
        ),
        topicAlias: fc.nat().map(json),
        subscriptionIdentifier: fc.nat().map(json),
      },
      { requiredKeys: [] },
    )
    .map((fields) => `{${Object.entries(fields).map(([k, v]) => `"${k}":${v}`).join(',')}}`),
  valueText,
);

/** A line shaped like a message (or a header): known keys with any values, some missing, some extra, any order. */
const objectLine = fc
  .tuple(
    fc.subarray(['t', 'topic', 'payload', 'payloadBase64', 'qos', 'retain', 'properties', 'mqlive', 'version', 'startedAt', 'broker', 'filters']),
    fc.array(fc.oneof(valueText, propertiesText), { minLength: 12, maxLength: 12 }),
    fc.array(fc.tuple(stringText, valueText), { maxLength: 3 }),
  )
  .map(([keys, values, extra]) => `{${[...keys.map((k, i) => `"${k}":${values[i]}`), ...extra.map(([k, v]) => `${k}:${v}`)].join(',')}}`);

/** Null three times in four: most lines stay valid. */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

/** Properties of the right types, within the broker's limits or just beyond them (more than 32 user properties). */
const typedProperties = fc.record(
  {
    contentType: fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 20 })),
    payloadFormatIndicator: fc.boolean(),
    messageExpiryInterval: fc.oneof(fc.nat(), fc.constant(2 ** 32 - 1)),
    responseTopic: fc.constantFrom('lab/answer', 'a/b/c', 'lab/é/😀', 'x', '$SYS/x', 'lab/+'),
    correlationData: fc.uint8Array({ maxLength: 20 }),
    userProperties: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.array(fc.string({ maxLength: 4 }), { minLength: 1, maxLength: 12 })), {
      maxKeys: 12,
    }),
  },
  { requiredKeys: [] },
);

/** A line that is valid or nearly so: a real message with one field swapped for anything. */
const nearlyValidLine = fc
  .tuple(
    fc.record({
      t: fc.nat(MAX_RECORDING_MS),
      topic: fc.constantFrom('lab/x', 'devices/a/mouse/move', 'a/b/c'),
      payload: fc.uint8Array({ maxLength: 30 }),
      qos: fc.constantFrom(0 as const, 1 as const, 2 as const),
      retain: fc.boolean(),
      properties: fc.option(typedProperties, { nil: undefined }),
    }),
    fc.option(fc.tuple(fc.constantFrom('t', 'topic', 'payload', 'payloadBase64', 'qos', 'retain', 'properties'), fc.oneof(valueText, propertiesText))),
    sometimes(propertiesText),
  )
  .map(([message, swap, properties]) => {
    const encoded = encodeMessage(message);
    const line = properties === null ? encoded : `${encoded.slice(0, -1)},"properties":${properties}}`;
    if (!swap) return line;
    const [key, value] = swap;
    return `${line.slice(0, -1)},"${key}":${value}}`; // a repeated key: JSON.parse takes the last
  });

/** A header with one field swapped for anything. */
const nearlyValidHeader = fc
  .tuple(fc.constantFrom('mqlive', 'version', 'startedAt', 'broker', 'filters'), valueText)
  .map(([key, value]) => `${encodeHeader({ startedAt: 1, broker: 'b', filters: ['#'] }).slice(0, -1)},"${key}":${value}}`);

/** A message with properties of the right types, as the recorder writes it (taken, or refused beyond the limits). */
const propertiesLine = fc
  .record({ t: fc.nat(MAX_RECORDING_MS), topic: fc.constant('lab/x'), payload: fc.uint8Array({ maxLength: 8 }), qos: fc.constant(1 as const), retain: fc.boolean(), properties: typedProperties })
  .map(encodeMessage);

const anyLine = fc.oneof(objectLine, nearlyValidLine, propertiesLine, nearlyValidHeader, valueText, fc.string({ unit: 'binary', maxLength: 60 }));

/** What a message that was taken must be. */
function expectChecked(message: RecordedMessage): void {
  expect(Number.isFinite(message.t) && message.t >= 0 && message.t <= MAX_RECORDING_MS).toBe(true);
  expect(typeof message.topic === 'string' && message.topic.length > 0 && !/[+#\u0000]/.test(message.topic)).toBe(true);
  expect([0, 1, 2]).toContain(message.qos);
  expect(typeof message.retain).toBe('boolean');
  expect(message.payload).toBeInstanceOf(Uint8Array);
  if (message.properties !== undefined) {
    const { contentType, payloadFormatIndicator, messageExpiryInterval, responseTopic, correlationData, userProperties, ...rest } = message.properties;
    expect(rest).toEqual({});
    expect([contentType, responseTopic].every((v) => v === undefined || typeof v === 'string')).toBe(true);
    expect(payloadFormatIndicator === undefined || typeof payloadFormatIndicator === 'boolean').toBe(true);
    expect(messageExpiryInterval === undefined || Number.isInteger(messageExpiryInterval)).toBe(true);
    expect(correlationData === undefined || correlationData instanceof Uint8Array).toBe(true);
    for (const values of Object.values(userProperties ?? {})) expect(typeof values === 'string' || (Array.isArray(values) && values.length > 0 && values.every((v) => typeof v === 'string'))).toBe(true);
    // Within what mqlive's broker takes: count, bytes, strings MQTT can carry.
    expect(propertiesProblem(message.properties)).toBeNull();
  }
  // What was taken is written back as a line that gives the same message.
  expect(parseMessage(encodeMessage(message), 2)).toEqual(message);
}

/** Runs `read`; anything thrown must be a RecordingError (or `allowed`) naming a line from 1 on. */
function refusedCleanly(error: unknown, allowed: new (...args: never[]) => Error = RecordingError): void {
  if (!(error instanceof allowed)) throw error;
  if (error instanceof RecordingError) expect(error.line).toBeGreaterThanOrEqual(1);
  expect(error.message).toMatch(/line \d+: /);
  // One line, short: never a serialized copy of what was refused.
  expect(error.message).not.toContain('\n');
  expect(error.message.length).toBeLessThan(400);
}

const HEADER = encodeHeader({ startedAt: 1, broker: 'mqtt://fuzz', filters: ['#'] });
const utf8 = new TextEncoder();

/** A recording's bytes, cut into chunks at arbitrary points, with some lines replaced by raw bytes. */
const recordingBytes = fc
  .tuple(
    fc.boolean(),
    fc.array(fc.oneof({ weight: 3, arbitrary: anyLine.map((l) => utf8.encode(l)) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 8 }),
    fc.constantFrom('\n', '\r\n'),
    fc.array(fc.nat(), { maxLength: 6 }),
  )
  .map(([withHeader, lines, newline, cuts]) => {
    const parts = [...(withHeader ? [utf8.encode(HEADER)] : []), ...lines];
    const joined = new Uint8Array(parts.reduce((n, p) => n + p.length + newline.length, 0));
    let at = 0;
    for (const part of parts) {
      joined.set(part, at);
      joined.set(utf8.encode(newline), at + part.length);
      at += part.length + newline.length;
    }
    const points = [...new Set(cuts.map((c) => c % (joined.length + 1)))].sort((a, b) => a - b);
    const chunks = [0, ...points, joined.length].slice(1).map((end, i, ends) => joined.subarray(i === 0 ? 0 : ends[i - 1]!, end));
    return { bytes: joined, chunks };
  });

async function* streamOf(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

describe('fuzz: the recording reader', () => {
  fuzz(
    'parseMessage and parseHeader: a checked message or header, or a RecordingError',
    anyLine,
    (line) => {
      try {
        expectChecked(parseMessage(line, 2));
      } catch (error) {
        refusedCleanly(error);
      }
      try {
        const header = parseHeader(line);
        expect(header.mqlive).toBe('recording');
        expect(Number.isFinite(header.startedAt)).toBe(true);
      } catch (error) {
        refusedCleanly(error);
      }
    },
    150,
  );

  fuzz(
    'readRecordingStream, any chunking, any line limit: checked messages in time order, or a RecordingError; the same as parseRecording on the same text',
    fc.tuple(recordingBytes, fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 300 }))),
    async ([{ bytes, chunks }, maxLineBytes]) => {
      const messages: RecordedMessage[] = [];
      let failure: RecordingError | undefined;
      try {
        for await (const message of readRecordingStream(streamOf(chunks), { maxLineBytes })) messages.push(message);
      } catch (error) {
        refusedCleanly(error);
        failure = error as RecordingError;
      }
      for (const message of messages) expectChecked(message);
      const live = messages.filter((m) => !(m.retain && m.t === 0)).map((m) => m.t);
      expect(live).toEqual([...live].sort((a, b) => a - b));
      // Without a line limit, a stream of valid UTF-8 reads as the same text read whole.
      let text: string | undefined;
      try {
        text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
      } catch {
        text = undefined;
      }
      if (text === undefined || maxLineBytes !== undefined) return;
      let whole: ReturnType<typeof parseRecording> | undefined;
      let wholeFailure: RecordingError | undefined;
      try {
        whole = parseRecording(text);
      } catch (error) {
        refusedCleanly(error);
        wholeFailure = error as RecordingError;
      }
      expect(failure?.message).toEqual(wholeFailure?.message);
      if (whole) expect(messages).toEqual(whole.messages);
    },
    150,
  );

  const dir = mkdtempSync(join(tmpdir(), 'mqlive-fuzz-recording-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  fuzz(
    "the recorder's file reader: messages, or one CommandError naming the file and the line",
    recordingBytes,
    async ({ bytes }) => {
      const file = join(dir, `r${n++ % 4}.jsonl`);
      writeFileSync(file, bytes);
      try {
        for await (const message of readRecording(file, undefined, { maxLineBytes: 200, topicPrefix: '' })) {
          expectChecked(message);
          expect(message.topic.startsWith('$')).toBe(false);
          expect(message.properties?.responseTopic?.startsWith('$') ?? false).toBe(false);
        }
      } catch (error) {
        refusedCleanly(error, CommandError);
        expect((error as Error).message.startsWith(`${file} line `)).toBe(true);
      }
    },
    150,
  );
});

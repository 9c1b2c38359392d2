/**
 * The recording format (version 1), shared by `mqlive record`/`mqlive replay`, the publisher's replay source
 * and the viewer. JSON Lines: one header line, then one line per message, in the order they were received.
 *
 *   {"mqlive":"recording","version":1,"startedAt":1764120000000,"broker":"mqtt://127.0.0.1:1883","filters":["devices/#"]}
 *   {"t":0,"topic":"devices/laptop/status","payload":"online","qos":1,"retain":true}
 *   {"t":12,"topic":"lab/blob","payloadBase64":"AAH/","qos":0,"retain":false}
 *   {"t":40,"topic":"lab/ask","payload":"{}","qos":1,"retain":false,"properties":{"contentType":"application/json","responseTopic":"lab/answer","correlationData":"req-1","userProperties":{"unit":"mm"}}}
 *
 * `t` is milliseconds since the recording started, never decreasing, at most MAX_RECORDING_MS. A payload that is valid UTF-8 is stored as
 * text in `payload`, anything else as `payloadBase64`; either way replay sends the same bytes. Retained messages
 * present when the recording started have `retain: true` and `t: 0`; they come first, or among the first live
 * messages (the broker sends them for the new subscription while live ones already flow).
 *
 * A message may have `properties`: the MQTT 5 properties it came with that mean something to whoever gets it
 * next (protocol/message-properties.ts), each optional: `contentType` (string), `payloadFormatIndicator` (boolean),
 * `messageExpiryInterval` (whole seconds), `responseTopic` (string), `correlationData` (text, when valid UTF-8) or
 * `correlationDataBase64`, `userProperties` ({"name": "value"}, or {"name": ["value", "value"]} for a name given
 * more than once). At most MAX_USER_PROPERTIES user properties and MAX_PROPERTY_BYTES bytes, as mqlive's broker
 * takes. A line without `properties` (every line written before MQTT 5) is a message without any.
 *
 * A reader takes lines of at most MAX_LINE_BYTES (readers of a stream never hold more than that of one line).
 *
 * Pure (no Node-only or DOM-only module): the viewer bundles it.
 */
import { describeValue } from './json-depth';
import { MAX_EXPIRY_SECONDS, MAX_USER_PROPERTIES, propertiesProblem, type MessageProperties, type UserProperties } from './message-properties';

export const RECORDING_VERSION = 1;

/**
 * The longest line a reader takes by default: 1 MiB, without its newline. A message of the mqlive broker (4 KiB
 * payloads by default) is far below it; a recording of bigger payloads from another broker needs a higher limit
 * (`--max-line-bytes`). Reading never holds more than this of one line, however long the line in the file is.
 */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * The latest `t` a message may have: 366 days. It bounds every gap between two messages too, and keeps the
 * arithmetic of a schedule exact (1e15 overflowed Node's timers; a player waits in chunks below their limit).
 */
export const MAX_RECORDING_MS = 366 * 24 * 60 * 60 * 1000;

/** The latest epoch milliseconds a Date can hold: a header's `startedAt` is at most this. */
const MAX_EPOCH_MS = 8.64e15;

/** MQTT's limit on a topic name: 65,535 bytes of UTF-8. */
const MAX_TOPIC_BYTES = 65_535;

export interface RecordingHeader {
  mqlive: 'recording';
  version: typeof RECORDING_VERSION;
  /** Epoch milliseconds when the recording started. */
  startedAt: number;
  /** Where it was recorded from (a URL without credentials). */
  broker: string;
  /** The topic filters subscribed to. */
  filters: string[];
}

export interface RecordedMessage {
  /** Milliseconds since the recording started. */
  t: number;
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
  /** Its MQTT 5 properties; absent when it had none (or came over MQTT 3.1.1). */
  properties?: MessageProperties | undefined;
}

/** A line that is not what the format says, with its 1-based line number. */
export class RecordingError extends Error {
  override name = 'RecordingError';
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/** The header line (no newline). */
export function encodeHeader(header: Omit<RecordingHeader, 'mqlive' | 'version'>): string {
  const { startedAt, broker, filters } = header;
  return JSON.stringify({ mqlive: 'recording', version: RECORDING_VERSION, startedAt, broker, filters });
}

/** One message line (no newline): text when the bytes are valid UTF-8, base64 otherwise. */
export function encodeMessage(message: RecordedMessage): string {
  const { t, topic, qos, retain, properties } = message;
  const text = asText(message.payload);
  const body = text !== undefined ? { payload: text } : { payloadBase64: toBase64(message.payload) };
  return JSON.stringify({ t, topic, ...body, qos, retain, ...(properties && { properties: encodeProperties(properties) }) });
}

/** The bytes as text when they are valid UTF-8. */
function asText(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Properties as a line holds them: correlation data as text or base64, like a payload. */
function encodeProperties(properties: MessageProperties): Record<string, unknown> {
  const { contentType, payloadFormatIndicator, messageExpiryInterval, responseTopic, correlationData, userProperties } = properties;
  const text = correlationData && asText(correlationData);
  const correlation = correlationData === undefined ? {} : text !== undefined ? { correlationData: text } : { correlationDataBase64: toBase64(correlationData) };
  return { contentType, payloadFormatIndicator, messageExpiryInterval, responseTopic, ...correlation, userProperties };
}

/** Parses and checks the header (line 1). */
export function parseHeader(line: string, lineNumber = 1): RecordingHeader {
  const value = parseObject(line, lineNumber);
  if (value.mqlive !== 'recording') throw new RecordingError(lineNumber, 'not an mqlive recording (the first line must be {"mqlive":"recording",...})');
  if (value.version !== RECORDING_VERSION) {
    throw new RecordingError(lineNumber, `recording version ${describeValue(value.version)}; this mqlive reads version ${RECORDING_VERSION}`);
  }
  if (!isTime(value.startedAt, MAX_EPOCH_MS)) throw new RecordingError(lineNumber, '"startedAt" must be epoch milliseconds');
  if (typeof value.broker !== 'string') throw new RecordingError(lineNumber, '"broker" must be a string');
  if (!Array.isArray(value.filters) || !value.filters.every((f) => typeof f === 'string')) {
    throw new RecordingError(lineNumber, '"filters" must be a list of strings');
  }
  return { mqlive: 'recording', version: RECORDING_VERSION, startedAt: value.startedAt + 0, broker: value.broker, filters: value.filters as string[] };
}

/** Parses and checks one message line. */
export function parseMessage(line: string, lineNumber: number): RecordedMessage {
  const value = parseObject(line, lineNumber);
  const fail = (problem: string): never => {
    throw new RecordingError(lineNumber, problem);
  };
  if (!isTime(value.t, MAX_RECORDING_MS)) fail(`"t" must be a number of milliseconds from 0 to ${MAX_RECORDING_MS} (366 days)`);
  const { topic } = value;
  if (typeof topic !== 'string' || topic.length === 0) fail('"topic" must be a non-empty string');
  if (/[+#\u0000]/.test(topic as string)) fail(`"topic" ${describeValue(topic)} has a wildcard or a NUL character`);
  if (LONE_SURROGATE.test(topic as string)) fail('"topic" is not valid Unicode (a lone surrogate)');
  if (encoder.encode(topic as string).length > MAX_TOPIC_BYTES) fail(`"topic" is longer than MQTT allows (${MAX_TOPIC_BYTES} bytes)`);
  if (value.qos !== 0 && value.qos !== 1 && value.qos !== 2) fail('"qos" must be 0, 1 or 2');
  if (typeof value.retain !== 'boolean') fail('"retain" must be true or false');
  const hasText = 'payload' in value;
  const hasBase64 = 'payloadBase64' in value;
  if (hasText === hasBase64) fail('a message needs exactly one of "payload" (text) and "payloadBase64"');
  let payload: Uint8Array;
  if (hasText) {
    if (typeof value.payload !== 'string') fail('"payload" must be a string (binary payloads go in "payloadBase64")');
    // Encoding would turn a lone surrogate into other bytes than the line says: binary goes in payloadBase64.
    if (LONE_SURROGATE.test(value.payload as string)) fail('"payload" is not valid Unicode (a lone surrogate; binary payloads go in "payloadBase64")');
    payload = encoder.encode(value.payload as string);
  } else {
    const decoded = typeof value.payloadBase64 === 'string' ? fromBase64(value.payloadBase64) : null;
    if (!decoded) fail('"payloadBase64" must be base64');
    payload = decoded!;
  }
  const properties = 'properties' in value ? parseProperties(value.properties, fail) : undefined;
  // + 0 makes a -0 plain 0, as it is written back.
  const message: RecordedMessage = { t: (value.t as number) + 0, topic: topic as string, payload: payload!, qos: ((value.qos as number) + 0) as 0 | 1 | 2, retain: value.retain as boolean };
  if (properties) message.properties = properties;
  return message;
}

const PROPERTY_KEYS = new Set(['contentType', 'payloadFormatIndicator', 'messageExpiryInterval', 'responseTopic', 'correlationData', 'correlationDataBase64', 'userProperties']);

/** A line's `properties`, checked: types, then what mqlive's broker takes (propertiesProblem). Undefined for `{}`. */
function parseProperties(value: unknown, fail: (problem: string) => never): MessageProperties | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('"properties" must be an object');
  const fields = value as Record<string, unknown>;
  for (const key of Object.keys(fields)) {
    if (!PROPERTY_KEYS.has(key)) fail(`"properties" has ${describeValue(key)}, which is not one a recording keeps`);
  }
  const out: MessageProperties = {};
  const { contentType, payloadFormatIndicator, messageExpiryInterval, responseTopic, userProperties } = fields;
  if (contentType !== undefined) out.contentType = typeof contentType === 'string' ? contentType : fail('"contentType" must be a string');
  if (payloadFormatIndicator !== undefined) {
    out.payloadFormatIndicator = typeof payloadFormatIndicator === 'boolean' ? payloadFormatIndicator : fail('"payloadFormatIndicator" must be true or false');
  }
  if (messageExpiryInterval !== undefined) {
    if (typeof messageExpiryInterval !== 'number') fail(`"messageExpiryInterval" must be whole seconds from 0 to ${MAX_EXPIRY_SECONDS}`);
    out.messageExpiryInterval = (messageExpiryInterval as number) + 0;
  }
  if (responseTopic !== undefined) out.responseTopic = typeof responseTopic === 'string' ? responseTopic : fail('"responseTopic" must be a string');
  if ('correlationData' in fields && 'correlationDataBase64' in fields) fail('"properties" may have one of "correlationData" (text) and "correlationDataBase64", not both');
  if ('correlationData' in fields) {
    const text = fields.correlationData;
    if (typeof text !== 'string') fail('"correlationData" must be a string (binary data goes in "correlationDataBase64")');
    if (LONE_SURROGATE.test(text as string)) fail('"correlationData" is not valid Unicode (a lone surrogate; binary data goes in "correlationDataBase64")');
    out.correlationData = encoder.encode(text as string);
  }
  if ('correlationDataBase64' in fields) {
    const decoded = typeof fields.correlationDataBase64 === 'string' ? fromBase64(fields.correlationDataBase64) : null;
    out.correlationData = decoded ?? fail('"correlationDataBase64" must be base64');
  }
  if (userProperties !== undefined) out.userProperties = parseUserProperties(userProperties, fail);
  const problem = propertiesProblem(out);
  if (problem) fail(`"properties": ${problem}`);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** {"name": "value" | ["value", ...]} into an object without a prototype (a name may be "__proto__"). */
function parseUserProperties(value: unknown, fail: (problem: string) => never): UserProperties | undefined {
  const shape = '"userProperties" must be an object of strings, or of non-empty lists of strings';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(shape);
  const out: UserProperties = Object.create(null);
  let count = 0;
  for (const name of Object.keys(value as object)) {
    const values = (value as Record<string, unknown>)[name];
    // Counted here too, so a line of many thousands of names is refused without copying them all.
    count += Array.isArray(values) ? values.length : 1;
    if (count > MAX_USER_PROPERTIES) fail(`"properties": more than ${MAX_USER_PROPERTIES} user properties`);
    if (typeof values === 'string') out[name] = values;
    else if (Array.isArray(values) && values.length > 0 && values.every((v) => typeof v === 'string')) out[name] = [...(values as string[])];
    else fail(shape);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Reads a recording line by line (from a file, a stream, a string): the header first, then messages whose `t`
 * never goes back. Blank lines are skipped (a trailing newline is normal); anything else wrong is an error
 * naming the line.
 */
export class RecordingReader {
  private lineNumber = 0;
  private lastT = 0;
  header: RecordingHeader | null = null;

  /** The message on this line, or null for the header and blank lines. Throws a RecordingError. */
  push(line: string): RecordedMessage | null {
    this.lineNumber += 1;
    if (line.trim() === '') return null;
    if (!this.header) {
      this.header = parseHeader(line, this.lineNumber);
      return null;
    }
    const message = parseMessage(line, this.lineNumber);
    // The state at the start (retained, t 0) may come in among the first live messages: the broker sends it
    // for the new subscription while live ones already flow.
    if (message.retain && message.t === 0) return message;
    if (message.t < this.lastT) throw new RecordingError(this.lineNumber, `"t" goes back in time (${message.t} after ${this.lastT})`);
    this.lastT = message.t;
    return message;
  }

  /** Call at the end of the input: a recording without a header is an error. */
  end(): RecordingHeader {
    if (!this.header) throw new RecordingError(Math.max(this.lineNumber, 1), 'empty: no header line');
    return this.header;
  }

  /** Lines read so far. */
  get lines(): number {
    return this.lineNumber;
  }
}

/**
 * Splits a byte stream into lines (UTF-8, without "\n" or a "\r" before it), holding at most `maxLineBytes` of
 * one line: a longer line is refused as soon as its first `maxLineBytes + 1` bytes are in, not read to its end.
 * Every line is yielded, blank ones too, so line numbers match RecordingReader's.
 */
export async function* recordingLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<string> {
  let parts: Uint8Array[] = [];
  let held = 0;
  let lineNumber = 1;
  const tooLong = () => new RecordingError(lineNumber, `longer than ${maxLineBytes} bytes, the most a line may hold (--max-line-bytes raises it)`);
  const take = (piece: Uint8Array) => {
    // One byte more than the limit may be the "\r" of a "\r\n"; the line's end says.
    if (held + piece.length > maxLineBytes + 1) throw tooLong();
    if (piece.length > 0) parts.push(piece);
    held += piece.length;
  };
  const line = (): string => {
    let bytes = parts.length === 1 ? parts[0]! : concat(parts, held);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    if (bytes.length > maxLineBytes) throw tooLong();
    parts = [];
    held = 0;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new RecordingError(lineNumber, 'not UTF-8 text');
    }
    lineNumber += 1;
    return text;
  };
  for await (const chunk of chunks) {
    let start = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf(10, start);
      take(chunk.subarray(start, end === -1 ? chunk.length : end));
      if (end === -1) break;
      yield line();
      start = end + 1;
    }
  }
  if (held > 0) yield line();
}

export interface ReadOptions {
  /** The longest line taken (default MAX_LINE_BYTES). */
  maxLineBytes?: number | undefined;
  /** Called once, with the header, before the first message. */
  onHeader?: ((header: RecordingHeader) => void) | undefined;
  /** A rule of the caller's own (replay's reserved topics): a problem it names is a RecordingError for the line. */
  problemOf?: ((message: RecordedMessage) => string | null) | undefined;
}

/**
 * The messages of a recording read from a byte stream (a file), in order; memory stays within one line of at
 * most `maxLineBytes`, whatever the size of the file. Anything wrong is a RecordingError naming the line.
 */
export async function* readRecordingStream(chunks: AsyncIterable<Uint8Array>, options: ReadOptions = {}): AsyncGenerator<RecordedMessage> {
  const reader = new RecordingReader();
  let announced = false;
  for await (const line of recordingLines(chunks, options.maxLineBytes)) {
    const message = reader.push(line);
    if (!announced && reader.header) {
      announced = true;
      options.onHeader?.(reader.header);
    }
    if (!message) continue;
    const problem = options.problemOf?.(message);
    if (problem) throw new RecordingError(reader.lines, problem);
    yield message;
  }
  reader.end();
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A whole recording held as text (the viewer's opened file, tests). */
export function parseRecording(text: string): { header: RecordingHeader; messages: RecordedMessage[] } {
  const reader = new RecordingReader();
  const messages: RecordedMessage[] = [];
  const lines = text.split('\n');
  // The newline that ends the last line does not start another (line numbers as a stream reader counts them).
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    const message = reader.push(line.endsWith('\r') ? line.slice(0, -1) : line);
    if (message) messages.push(message);
  }
  return { header: reader.end(), messages };
}

function parseObject(line: string, lineNumber: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new RecordingError(lineNumber, 'not valid JSON (a truncated line? a recording stopped by a crash ends in one)');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new RecordingError(lineNumber, 'not a JSON object');
  return value as Record<string, unknown>;
}

function isTime(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= max;
}

/** A UTF-16 surrogate without its other half: no UTF-8 encoding of it exists. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

/** Standard base64 with padding (RFC 4648), for Node and browsers alike. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += b === undefined ? '=' : ALPHABET[(n >> 6) & 63]!;
    out += c === undefined ? '=' : ALPHABET[n & 63]!;
  }
  return out;
}

/** The bytes of standard padded base64, or null when the text is not that. */
export function fromBase64(text: string): Uint8Array | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const n = [0, 1, 2, 3].reduce((acc, k) => (acc << 6) | (INDEX.get(text[i + k]!) ?? 0), 0);
    for (const shift of [16, 8, 0]) if (o < out.length) out[o++] = (n >> shift) & 255;
  }
  return out;
}

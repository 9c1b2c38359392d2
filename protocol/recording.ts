/**
 * The recording format (version 1), shared by `mqlive record`/`mqlive replay`, the publisher's replay source
 * and the viewer. JSON Lines: one header line, then one line per message, in the order they were received.
 *
 *   {"mqlive":"recording","version":1,"startedAt":1764120000000,"broker":"mqtt://127.0.0.1:1883","filters":["devices/#"]}
 *   {"t":0,"topic":"devices/laptop/status","payload":"online","qos":1,"retain":true}
 *   {"t":12,"topic":"lab/blob","payloadBase64":"AAH/","qos":0,"retain":false}
 *
 * `t` is milliseconds since the recording started, never decreasing. A payload that is valid UTF-8 is stored as
 * text in `payload`, anything else as `payloadBase64`; either way replay sends the same bytes. Retained messages
 * present when the recording started have `retain: true` and `t: 0`; they come first, or among the first live
 * messages (the broker sends them for the new subscription while live ones already flow).
 *
 * Pure (no Node-only or DOM-only module): the viewer bundles it.
 */

export const RECORDING_VERSION = 1;

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
  const { t, topic, qos, retain } = message;
  let text: string | undefined;
  try {
    text = utf8.decode(message.payload);
  } catch {
    text = undefined;
  }
  const body = text !== undefined ? { payload: text } : { payloadBase64: toBase64(message.payload) };
  return JSON.stringify({ t, topic, ...body, qos, retain });
}

/** Parses and checks the header (line 1). */
export function parseHeader(line: string, lineNumber = 1): RecordingHeader {
  const value = parseObject(line, lineNumber);
  if (value.mqlive !== 'recording') throw new RecordingError(lineNumber, 'not an mqlive recording (the first line must be {"mqlive":"recording",...})');
  if (value.version !== RECORDING_VERSION) {
    throw new RecordingError(lineNumber, `recording version ${JSON.stringify(value.version)}; this mqlive reads version ${RECORDING_VERSION}`);
  }
  if (!isTime(value.startedAt)) throw new RecordingError(lineNumber, '"startedAt" must be epoch milliseconds');
  if (typeof value.broker !== 'string') throw new RecordingError(lineNumber, '"broker" must be a string');
  if (!Array.isArray(value.filters) || !value.filters.every((f) => typeof f === 'string')) {
    throw new RecordingError(lineNumber, '"filters" must be a list of strings');
  }
  return { mqlive: 'recording', version: RECORDING_VERSION, startedAt: value.startedAt, broker: value.broker, filters: value.filters as string[] };
}

/** Parses and checks one message line. */
export function parseMessage(line: string, lineNumber: number): RecordedMessage {
  const value = parseObject(line, lineNumber);
  const fail = (problem: string): never => {
    throw new RecordingError(lineNumber, problem);
  };
  if (!isTime(value.t)) fail('"t" must be a number of milliseconds >= 0');
  const { topic } = value;
  if (typeof topic !== 'string' || topic.length === 0) fail('"topic" must be a non-empty string');
  if (/[+#\u0000]/.test(topic as string)) fail(`"topic" ${JSON.stringify(topic)} has a wildcard or a NUL character`);
  if (value.qos !== 0 && value.qos !== 1 && value.qos !== 2) fail('"qos" must be 0, 1 or 2');
  if (typeof value.retain !== 'boolean') fail('"retain" must be true or false');
  const hasText = 'payload' in value;
  const hasBase64 = 'payloadBase64' in value;
  if (hasText === hasBase64) fail('a message needs exactly one of "payload" (text) and "payloadBase64"');
  let payload: Uint8Array;
  if (hasText) {
    if (typeof value.payload !== 'string') fail('"payload" must be a string (binary payloads go in "payloadBase64")');
    payload = encoder.encode(value.payload as string);
  } else {
    const decoded = typeof value.payloadBase64 === 'string' ? fromBase64(value.payloadBase64) : null;
    if (!decoded) fail('"payloadBase64" must be base64');
    payload = decoded!;
  }
  return { t: value.t as number, topic: topic as string, payload: payload!, qos: value.qos as 0 | 1 | 2, retain: value.retain as boolean };
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

/** A whole recording held as text (the viewer's opened file, tests). */
export function parseRecording(text: string): { header: RecordingHeader; messages: RecordedMessage[] } {
  const reader = new RecordingReader();
  const messages: RecordedMessage[] = [];
  for (const line of text.split('\n')) {
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

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

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

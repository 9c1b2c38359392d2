/**
 * Reads a recording file line by line (never whole, and never more than one line's limit of it at once), each
 * line checked by protocol/recording.ts; and opens one to write (mqlive record, mqlive data export).
 */
import { closeSync, createReadStream, openSync, writeSync } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { CommandError, UsageError } from '../cli/command';
import { MAX_LINE_BYTES, readRecordingStream, RecordingError, type RecordedMessage, type RecordingHeader } from '../protocol/recording';

export async function checkReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'no permission to read it' : (error as Error).message;
    throw new UsageError(`cannot read --in ${path}: ${why}`);
  }
}

export interface FileReadOptions {
  /** The longest line taken (default MAX_LINE_BYTES). */
  maxLineBytes?: number | undefined;
  /** Put before every topic when it is published (replay's --topic-prefix): the reserved-topic check sees the result. */
  topicPrefix?: string | undefined;
}

/**
 * Why a topic may not be published by replay, or null. `$` topics are the broker's own (`$SYS/…`, mqlive's
 * `$mqlive/…`, MQTT 3.1.1 §4.7.2): a client's publish there is refused or never acknowledged.
 */
export function reservedTopicProblem(topic: string): string | null {
  return topic.startsWith('$') ? `topic ${JSON.stringify(topic.slice(0, 80))} is reserved for the broker (it starts with $); --topic-prefix replays it under another topic` : null;
}

/** A response topic asks whoever answers to publish there: never on the broker's own topics (the broker refuses it). */
function responseTopicProblem(message: RecordedMessage): string | null {
  const responseTopic = message.properties?.responseTopic;
  return responseTopic?.startsWith('$') ? `response topic ${JSON.stringify(responseTopic.slice(0, 80))} is reserved for the broker (it starts with $)` : null;
}

/** The messages of a recording, in order; a bad line stops with an error naming the file and the line. */
export async function* readRecording(path: string, onHeader?: (header: RecordingHeader) => void, options: FileReadOptions = {}): AsyncGenerator<RecordedMessage> {
  // Chunks of 64 KiB: what is held is at most one line (up to the limit) plus one chunk.
  const input = createReadStream(path, { highWaterMark: 64 * 1024 });
  const prefix = options.topicPrefix;
  const problemOf = prefix === undefined ? undefined : (message: RecordedMessage) => reservedTopicProblem(prefix + message.topic) ?? responseTopicProblem(message);
  try {
    yield* readRecordingStream(input, { maxLineBytes: options.maxLineBytes ?? MAX_LINE_BYTES, onHeader, problemOf });
  } catch (error) {
    if (error instanceof RecordingError) throw new CommandError(`${path} ${error.message}`);
    throw error;
  } finally {
    input.destroy();
  }
}

/**
 * Reads the whole file once to check every line before anything is sent (with replay's rules when given a
 * topic prefix): its header, message count and length.
 */
export async function scanRecording(path: string, options: FileReadOptions = {}): Promise<{ header: RecordingHeader; messages: number; durationMs: number }> {
  let header: RecordingHeader | undefined;
  let messages = 0;
  let durationMs = 0;
  for await (const message of readRecording(path, (h) => (header = h), options)) {
    messages += 1;
    durationMs = Math.max(durationMs, message.t);
  }
  return { header: header!, messages, durationMs };
}

/** Where a recording's lines go: a file written line by line (one synchronous write a line), or stdout for `-`. */
export function openRecordingOutput(out: string): { write(text: string): void; close(): void } {
  if (out === '-') return { write: (text) => void process.stdout.write(text), close: () => {} };
  let fd: number;
  try {
    fd = openSync(out, 'w');
  } catch (error) {
    throw new UsageError(`cannot write --out ${out}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return { write: (text) => void writeSync(fd, text), close: () => closeSync(fd) };
}

/** Reads a recording file line by line (never whole), each line checked by protocol/recording.ts. */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CommandError, UsageError } from '../cli/command';
import { RecordingError, RecordingReader, type RecordedMessage, type RecordingHeader } from '../protocol/recording';

export async function checkReadable(path: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (error) {
    throw new UsageError(`cannot read --in ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

/** The messages of a recording, in order; a bad line stops with an error naming the file and the line. */
export async function* readRecording(path: string, onHeader?: (header: RecordingHeader) => void): AsyncGenerator<RecordedMessage> {
  const reader = new RecordingReader();
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let announced = false;
  try {
    for await (const line of lines) {
      const message = reader.push(line);
      if (message) yield message;
      else if (reader.header && !announced) {
        announced = true;
        onHeader?.(reader.header);
      }
    }
    reader.end();
  } catch (error) {
    if (error instanceof RecordingError) throw new CommandError(`${path} ${error.message}`);
    throw error;
  } finally {
    lines.close();
  }
}

/** Reads the whole file once to check every line before anything is sent: its header, message count and length. */
export async function scanRecording(path: string): Promise<{ header: RecordingHeader; messages: number; durationMs: number }> {
  let header: RecordingHeader | undefined;
  let messages = 0;
  let durationMs = 0;
  for await (const message of readRecording(path, (h) => (header = h))) {
    messages += 1;
    durationMs = message.t;
  }
  return { header: header!, messages, durationMs };
}

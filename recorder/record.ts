/**
 * `mqlive record`: subscribes to topic filters and writes every message to a recording (protocol/recording.ts)
 * as it arrives. Each line is written with one synchronous write, so nothing is held in memory and the file is
 * complete and valid whenever the recording stops (Ctrl-C, --seconds, --max-messages).
 */
import { performance } from 'node:perf_hooks';
import { CommandError, defineCommand, UsageError } from '../cli/command';
import { numberOption, wholeNumberOption, type OptionSpecs } from '../cli/options';
import { forwardProperties, propertiesProblem, type MessageProperties } from '../protocol/message-properties';
import { printable } from '../protocol/printable';
import { encodeHeader, encodeMessage, MAX_RECORDING_MS } from '../protocol/recording';
import { openRecordingOutput } from './recording-file';
import { BROKER_OPTIONS, brokerUrl, connectBroker, disconnect, formatBytes, onStopSignal, withoutCredentials } from './connection';

const OPTIONS = {
  ...BROKER_OPTIONS,
  topic: { env: 'MQLIVE_TOPIC', type: 'list', help: 'a topic filter to record, e.g. "devices/#" (at least one)' },
  out: { env: 'MQLIVE_OUT', type: 'string', help: 'the recording to write (replaced if it exists), or - for stdout' },
  seconds: numberOption({ env: 'MQLIVE_SECONDS', help: 'stop after this many seconds (default: at Ctrl-C)' }),
  'max-messages': wholeNumberOption({ env: 'MQLIVE_MAX_MESSAGES', help: 'stop after this many messages' }),
} satisfies OptionSpecs;

/** Why a topic filter is not one (MQTT 3.1.1 §4.7), or null. */
export function filterProblem(filter: string): string | null {
  if (filter === '') return 'is empty';
  if (filter.includes('\u0000')) return 'has a NUL character';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return 'has # somewhere other than as the whole last level';
    if (level.includes('+') && level !== '+') return 'has + inside a level (it must be a whole level: a/+/b)';
  }
  return null;
}

export const recordCommand = defineCommand({
  name: 'record',
  summary: 'records what a broker carries on some topics to a file (JSON Lines), with its timing',
  options: OPTIONS,
  notes: [
    'The file: a header line {"mqlive":"recording","version":1,"startedAt","broker","filters"}, then one line per',
    'message {"t":ms since start,"topic","payload" (UTF-8 text) or "payloadBase64","qos","retain"}, and with MQTT 5',
    '"properties" when it has any (contentType, payloadFormatIndicator, messageExpiryInterval, responseTopic,',
    'correlationData or correlationDataBase64, userProperties). Retained messages present at the start come first',
    'with retain true and t 0. Progress goes to stdout, or to stderr with --out -.',
  ].join('\n'),
  async run(options) {
    const url = brokerUrl(options);
    const filters = options.topic ?? [];
    if (filters.length === 0) throw new UsageError('--topic is needed: a topic filter to record, e.g. --topic "devices/#" (repeatable)');
    for (const filter of filters) {
      const problem = filterProblem(filter);
      if (problem) throw new UsageError(`--topic "${filter}" ${problem}`);
    }
    if (options.out === undefined) throw new UsageError('--out is needed: the file to write, or - for stdout');
    const { seconds, 'max-messages': maxMessages } = options;
    const toStdout = options.out === '-';
    const say = (line: string) => void (toStdout ? process.stderr : process.stdout).write(`${line}\n`);
    const where = toStdout ? 'stdout' : options.out;

    const output = openRecordingOutput(options.out);
    const client = await connectBroker('record', options, say).catch((error) => {
      output.close();
      throw error;
    });

    const startedAt = Date.now();
    const start = performance.now();
    output.write(`${encodeHeader({ startedAt, broker: withoutCredentials(url), filters })}\n`);
    let messages = 0;
    let bytes = 0;
    let lastT = 0;
    let stopped = false;

    let finish!: (why: string) => void;
    const finished = new Promise<string>((resolve) => (finish = resolve));
    const stop = (why: string) => {
      if (stopped) return;
      stopped = true;
      finish(why);
    };

    // A broker sets the retain flag only on what it sends for a new subscription (MQTT 3.1.1 §3.3.1.3): the state
    // at the start (t 0), which may come in among the first live messages. After a reconnect it keeps its time.
    let reconnected = false;
    client.once('reconnect', () => (reconnected = true));
    // What a recording cannot keep (another broker may carry more than mqlive's broker takes) is said once.
    let propertiesDropped = false;
    const keptProperties = (topic: string, received: Record<string, unknown> | undefined): MessageProperties | undefined => {
      const properties = forwardProperties(received);
      const problem = properties && propertiesProblem(properties);
      if (!problem) return properties;
      if (!propertiesDropped) say(`a message on ${printable(topic)} has MQTT 5 properties a recording cannot keep (${problem}): recorded without them (said once)`);
      propertiesDropped = true;
      return undefined;
    };
    client.on('message', (topic, payload, packet) => {
      if (stopped) return;
      const atStart = packet.retain && !reconnected;
      const t = atStart ? 0 : Math.max(lastT, Math.round(performance.now() - start));
      // The format's longest recording: a line past it would be refused by every reader.
      if (t > MAX_RECORDING_MS) return stop('366 days, the longest a recording may be');
      if (!atStart) lastT = t;
      const properties = keptProperties(topic, packet.properties as Record<string, unknown> | undefined);
      const line = `${encodeMessage({ t, topic, payload, qos: packet.qos, retain: packet.retain, properties })}\n`;
      try {
        output.write(line);
      } catch (error) {
        return stop(`cannot write to ${where}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      messages += 1;
      bytes += Buffer.byteLength(line);
      if (maxMessages !== undefined && messages >= maxMessages) stop(`${maxMessages} messages`);
    });
    if (toStdout) process.stdout.on('error', (error: NodeJS.ErrnoException) => stop(`stdout closed (${error.code ?? error.message})`));

    try {
      // QoS 2 asked, so each message comes at the QoS it was published with.
      await client.subscribeAsync(Object.fromEntries(filters.map((topic) => [topic, { qos: 2 as const }])));
    } catch (error) {
      output.close();
      await disconnect(client);
      // MQTT.js rejects when the SUBACK refuses any filter (128); the packet says which.
      const granted = (error as { packet?: { granted?: (number | { qos: number })[] } }).packet?.granted;
      const refused = filters.filter((_, i) => {
        const g = granted?.[i];
        return (typeof g === 'number' ? g : g?.qos) === 128;
      });
      const what = refused.length ? `the broker refused --topic ${refused.map((f) => `"${f}"`).join(', ')} (not allowed for this user?)` : (error as Error).message;
      throw new CommandError(what);
    }
    say(`recording ${filters.join(', ')} from ${withoutCredentials(url)} to ${where}${seconds ? ` for ${seconds} s` : ''}; Ctrl-C stops`);

    let lastCount = 0;
    const elapsed = () => (performance.now() - start) / 1000;
    const progress = setInterval(() => {
      say(`recording: ${messages} messages, ${messages - lastCount}/s, ${formatBytes(bytes)}, ${elapsed().toFixed(0)} s`);
      lastCount = messages;
    }, 1000);
    const timer = seconds !== undefined ? setTimeout(() => stop(`${seconds} s`), seconds * 1000) : undefined;
    const unhook = onStopSignal((signal) => stop(signal));

    const why = await finished;
    clearInterval(progress);
    clearTimeout(timer);
    unhook();
    output.close();
    await disconnect(client);
    say(`recorded ${messages} messages (${formatBytes(bytes)}) in ${elapsed().toFixed(1)} s to ${where}; stopped by ${why}`);
    return why.startsWith('cannot write') ? 1 : 0;
  },
});

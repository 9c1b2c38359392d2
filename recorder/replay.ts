/**
 * `mqlive replay`: publishes a recording to a broker with its timing, QoS, payload bytes and order.
 * Each message is due at start + t / speed on the monotonic clock, so a late timer never pushes the rest back
 * (no accumulated sleeps). Contract topics go through the broker's checks like any other publish.
 */
import { defineCommand, UsageError } from '../cli/command';
import { choiceOption, numberOption, wholeNumberOption, type OptionSpecs } from '../cli/options';
import { MAX_LINE_BYTES } from '../protocol/recording';
import type { IClientPublishOptions } from 'mqtt';
import type { MessageProperties } from '../protocol/message-properties';
import { BROKER_OPTIONS, brokerUrl, connectBroker, disconnect, onStopSignal, speaksMqtt5, withoutCredentials } from './connection';
import { Player, type Publish } from './player';
import { checkReadable, readRecording, reservedTopicProblem, scanRecording } from './recording-file';

const OPTIONS = {
  in: { env: 'MQLIVE_IN', type: 'string', help: 'the recording to play (written by mqlive record or the viewer)' },
  ...BROKER_OPTIONS,
  speed: numberOption({ env: 'MQLIVE_SPEED', help: 'time factor: 2 plays twice as fast; 0 as fast as the broker takes it (default 1)', default: 1 }, { allowZero: true }),
  loop: { env: 'MQLIVE_LOOP', type: 'flag', help: 'start over at the end, until Ctrl-C' },
  'topic-prefix': { env: 'MQLIVE_TOPIC_PREFIX', type: 'string', help: 'put this before every topic (e.g. replay/)' },
  retain: choiceOption(['keep', 'drop'], { env: 'MQLIVE_RETAIN', help: 'keep: publish retained messages retained (default); drop: publish every message unretained', default: 'keep' }),
  'max-line-bytes': wholeNumberOption({ env: 'MQLIVE_MAX_LINE_BYTES', help: `the longest line of the recording taken, in bytes (default ${MAX_LINE_BYTES}: 1 MiB)`, default: MAX_LINE_BYTES }),
} satisfies OptionSpecs;

export const replayCommand = defineCommand({
  name: 'replay',
  summary: 'publishes a recording to a broker with its original timing (or faster), QoS, bytes and order',
  options: OPTIONS,
  async run(options) {
    const file = options.in;
    if (file === undefined) throw new UsageError('--in is needed: the recording to play');
    const { speed, 'max-line-bytes': maxLineBytes, retain: retainMode } = options;
    const prefix = options['topic-prefix'] ?? '';
    if (/[+#\u0000]/.test(prefix)) throw new UsageError(`--topic-prefix must not hold +, # or NUL (got "${prefix}")`);
    if (prefix && reservedTopicProblem(prefix)) throw new UsageError(`--topic-prefix must not start with $: such topics are the broker's own (got "${prefix}")`);
    const reading = { maxLineBytes, topicPrefix: prefix };
    await checkReadable(file);

    // Every line is checked before the first publish: a broken file, or one with a topic replay may not
    // publish, sends nothing.
    const { header, messages: total, durationMs } = await scanRecording(file, reading);
    const say = (line: string) => console.log(line);
    const client = await connectBroker('replay', options, say);
    say(
      `replaying ${file} (${total} messages, ${(durationMs / 1000).toFixed(1)} s, recorded from ${header.broker}) to ${withoutCredentials(brokerUrl(options))}` +
        `${speed === 0 ? ' as fast as it takes them' : speed !== 1 ? ` at ${speed}x` : ''}${options.loop ? ', looping' : ''}; Ctrl-C stops`,
    );

    let stopping = '';
    // Ctrl-C and SIGTERM end every wait at once: for the next message (a recording may hold long quiet
    // stretches), and for an acknowledgement the broker may never send.
    const abort = new AbortController();
    const unhook = onStopSignal((signal) => {
      stopping = signal;
      abort.abort();
    });
    // A recording's MQTT 5 properties go out as they were over MQTT 5; MQTT 3.1.1 cannot carry them (said once).
    let propertiesDropped = false;
    const publish: Publish = (topic, payload, qos, retain, properties) => {
      const options: IClientPublishOptions = { qos, retain };
      if (properties && speaksMqtt5(client)) options.properties = mqttProperties(properties);
      else if (properties && !propertiesDropped) {
        propertiesDropped = true;
        say("this recording's MQTT 5 properties (user properties, content type, ...) are not sent: the connection is MQTT 3.1.1");
      }
      return client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), options);
    };
    const player = new Player(publish, { speed, prefix, keepRetain: retainMode === 'keep', say, signal: abort.signal });
    const progress = setInterval(() => say(player.progressLine(total, durationMs)), 1000);
    let rounds = 0;
    try {
      do {
        rounds += 1;
        player.startRound();
        for await (const message of readRecording(file, undefined, reading)) {
          if (stopping) break;
          await player.play(message);
        }
      } while (options.loop && !stopping);
      await player.drain();
    } finally {
      clearInterval(progress);
      unhook();
      // Stopped: what is still unacknowledged gets a second, not the usual three, before the connection is cut.
      await disconnect(client, stopping ? 1000 : 3000);
    }
    const loops = options.loop ? ` in ${rounds} rounds` : '';
    const late = speed > 0 ? `, at most ${player.maxLateMs.toFixed(0)} ms behind schedule` : '';
    say(`replayed ${player.sent} messages${loops} in ${player.elapsedSeconds().toFixed(1)} s${late}${stopping ? `; stopped by ${stopping}` : ''}`);
  },
});

/** MQTT.js's form of recorded properties: correlation data as a Buffer. */
function mqttProperties(properties: MessageProperties): NonNullable<IClientPublishOptions['properties']> {
  const { correlationData, ...rest } = properties;
  return correlationData ? { ...rest, correlationData: Buffer.from(correlationData) } : rest;
}

import { hostname } from 'node:os';
import { assertId, sanitizeId } from '../protocol';
import { CommandError, defineCommand, EXIT, settingName, UsageError, userValue } from '../cli/command';
import { choiceOption, numberOption, type OptionSpecs } from '../cli/options';
import { connectDevice } from '../protocol/device-client';
import { fallbackLine, PROTOCOLS } from '../protocol/mqtt-version';
import { readCa, CA_OPTION } from '../cli/ca';
import { createSay, LOG_FORMATS, type Say } from './output';
import { SESSION_TAKEN_OVER } from './connection-report';
import { MousePublisher } from './publisher';
import { openSource, sourceFlags, sourceHelp } from './sources';
import { runCommand } from './sources/platform';
import { SourceFlagError, type MouseSource, type SourceContext, type SourceFlagValues } from './sources/source';
import { DisplayError, probeDisplay } from './x11-display';

const OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker: mqtt://, mqtts://, ws://HOST:PORT/mqtt or wss://HOST:PORT/mqtt (default mqtt://127.0.0.1:1883)' },
  ca: CA_OPTION,
  device: { env: 'MQLIVE_DEVICE', type: 'string', help: 'device id [A-Za-z0-9_-]{1,64} (default: this host name)' },
  source: { env: 'MQLIVE_SOURCE', type: 'string', help: 'where the mouse comes from: one of the sources below (default auto)', default: 'auto' },
  'move-hz': numberOption({ env: 'MQLIVE_MOVE_HZ', help: 'most moves published per second; 0 sends every one (default 60)', default: 60 }, { allowZero: true }),
  keepalive: { env: 'MQLIVE_KEEPALIVE', type: 'string', help: 'MQTT keep-alive in seconds (default 10)', default: 10, parse: parseKeepalive },
  username: { env: 'MQLIVE_USERNAME', type: 'string', help: 'MQTT user name, when the broker asks for one' },
  password: { env: 'MQLIVE_PASSWORD', type: 'string', help: 'MQTT password (prefer the variable: flags show in ps)' },
  protocol: choiceOption(PROTOCOLS, { env: 'MQLIVE_PROTOCOL', help: 'auto, 5 or 3.1.1: auto speaks MQTT 5, and 3.1.1 to a broker that refuses 5 (default auto)', default: 'auto' }),
  'log-format': choiceOption(LOG_FORMATS, { env: 'MQLIVE_LOG_FORMAT', help: 'auto, pretty or json: json is one JSON object a line, named by its "event" field (default auto: plain lines)', default: 'auto' }),
  ...(sourceFlags() satisfies OptionSpecs),
} satisfies OptionSpecs;

/** Whole seconds from 1 to 65535 (MQTT's keep alive is two bytes); 0 would turn keep-alive off. */
function parseKeepalive(text: string, setting: string): number {
  const keepalive = Number(text);
  if (!Number.isInteger(keepalive) || keepalive < 1 || keepalive > 65535) throw new UsageError(`${setting} must be whole seconds from 1 to 65535 (got "${text}")`);
  return keepalive;
}

/** The values of the sources' own flags (each source reads its own). */
function sourceFlagValues(options: Record<string, unknown>): SourceFlagValues {
  return Object.fromEntries(Object.keys(sourceFlags()).map((flag) => [flag, options[flag]])) as SourceFlagValues;
}

/** Opens the chosen source: a bad source flag is a usage error, a source that cannot capture here exit code 3. */
async function open(name: string, flags: SourceFlagValues, say: Say): Promise<MouseSource> {
  const context: SourceContext = { platform: process.platform, env: process.env, say, run: runCommand, probeX11: (display) => probeDisplay(display) };
  try {
    return await openSource(name, context, flags);
  } catch (error) {
    // Under make the choice is the SOURCE variable: say so.
    if (error instanceof SourceFlagError) throw new UsageError(error.message.replace(/^--source\b/, settingName('source')));
    const hint = error instanceof DisplayError ? '. Start an X server, set DISPLAY, or use --source demo.' : '';
    throw new CommandError(`${(error as Error).message}${hint}`, EXIT.noCapture);
  }
}

/** CONNACK codes of a refused login: bad user name or password, not authorized (MQTT 3.1.1 and MQTT 5). */
const LOGIN_REFUSED = new Set([4, 5, 0x86, 0x87]);

export const publisherCommand = defineCommand({
  name: 'publisher',
  summary: "the capture publisher: this machine's mouse (or a demo mouse) to devices/{device}/mouse/*",
  options: OPTIONS,
  notes: `sources (--source):\n${sourceHelp()}`,
  async run(options) {
    const url = options.url ?? 'mqtt://127.0.0.1:1883';
    if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) throw new UsageError(`--url must start with mqtt://, mqtts://, ws:// or wss:// (got "${url}")`);
    const device = options.device !== undefined ? userValue(() => assertId(options.device)) : sanitizeId(hostname());
    const { 'move-hz': moveHz, keepalive, protocol } = options;
    const say = createSay(options['log-format']);

    const source = await open(options.source, sourceFlagValues(options), say);
    // Under auto, the line that says why the demo runs says so already.
    if (options.source === 'demo') say('Source: demo (a synthetic mouse, marked source "demo" in meta)', { event: 'source', source: 'demo', why: 'asked' });
    const ca = readCa(options.ca);
    const mqtt = { keepalive, ...(ca && { ca }), ...(options.username && { username: options.username, password: options.password }) };
    const onFallback = () => say(fallbackLine(url), { event: 'protocol_fallback', url, protocol: '3.1.1' });
    const client = connectDevice({ url, device, mqtt, protocol, onFallback, meta: () => publisher.meta() });
    const publisher: MousePublisher = new MousePublisher(client, { url, source, moveHz, say, onGiveUp: () => giveUp() });

    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      say(`${signal}: publishing offline and stopping`, { event: 'stopping', signal });
      setTimeout(() => process.exit(0), 3000).unref();
      await publisher.stop();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
    // A refused login is not going to heal by retrying, nor a port that speaks something else (HTTP, TLS): its line
    // is said (connection-report.ts), then the publisher stops with exit code 1. (CONNACK 3, server unavailable, and
    // a host that does not resolve may heal: those are retried.)
    // Nothing will be sent: the source is stopped and the queue dropped at once.
    const giveUp = () =>
      void publisher
        .stop(0)
        .catch(() => {}) // what was queued is not sent: the line said why
        .finally(() => process.exit(EXIT.failed));
    client.client.on('error', (error) => {
      if (LOGIN_REFUSED.has((error as { code?: number }).code ?? -1)) giveUp();
    });
    // Another publisher took this device's id (MQTT 5 tells): reconnecting would only take it back, and so on.
    client.client.on('disconnect', (packet) => {
      if (packet.reasonCode !== SESSION_TAKEN_OVER) return;
      client.client.end(true); // at once: no reconnect, not even to say offline (the device is online, elsewhere)
      giveUp();
    });

    try {
      await publisher.start();
    } catch (error) {
      await publisher.stop().catch((stopError: Error) => console.error(`(while stopping: ${stopError.message})`));
      throw new CommandError((error as Error).message, EXIT.noCapture);
    }
  },
});

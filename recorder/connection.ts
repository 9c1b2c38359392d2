/**
 * What `mqlive record` and `mqlive replay` share: their broker flags, the MQTT connection (the first attempt
 * must succeed; after that MQTT.js reconnects by itself), and the progress line's numbers.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { CommandError, UsageError } from '../cli/command';
import { CA_OPTION, readCa } from '../cli/ca';
import { identifyServer, reachedWithoutMqtt, unresolvedHost, wrongPortWords } from '../cli/connect-cause';
import { choiceOption, type OptionSpecs } from '../cli/options';
import { fallBackTo311, fallbackLine, leadsToFallback, PROTOCOLS, protocolVersionFor, type ProtocolChoice } from '../protocol/mqtt-version';

export const BROKER_OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker: mqtt://, mqtts://, ws:// or wss:// (default mqtt://127.0.0.1:1883)' },
  ca: CA_OPTION,
  username: { env: 'MQLIVE_USERNAME', type: 'string', help: 'MQTT user name, when the broker asks for one' },
  password: { env: 'MQLIVE_PASSWORD', type: 'string', help: 'MQTT password (prefer the variable: flags show in ps)' },
  protocol: choiceOption(PROTOCOLS, { env: 'MQLIVE_PROTOCOL', help: 'auto, 5 or 3.1.1: auto speaks MQTT 5, and 3.1.1 to a broker that refuses 5 (default auto)', default: 'auto' }),
} satisfies OptionSpecs;

export interface BrokerSettings {
  url?: string | undefined;
  /** PEM file to trust for mqtts:// and wss:// (--ca). */
  ca?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** auto (default), 5 or 3.1.1 (--protocol). */
  protocol?: ProtocolChoice | undefined;
}

/** True when the client speaks MQTT 5 now (with auto, until a broker refuses it). */
export function speaksMqtt5(client: MqttClient): boolean {
  return client.options.protocolVersion === 5;
}

export function brokerUrl(settings: BrokerSettings): string {
  const url = settings.url ?? 'mqtt://127.0.0.1:1883';
  if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) throw new UsageError(`--url must start with mqtt://, mqtts://, ws:// or wss:// (got "${url}")`);
  return url;
}

/** The URL as it may be written into a file or a log: without a user name or password. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
  } catch {
    return url;
  }
}

/**
 * Connects as `mqlive-ROLE-xxxxxx` (clean session) with the MQTT of --protocol: under auto, MQTT 5, and 3.1.1
 * once a broker refuses 5 (said in one line). Rejects with one line when the first attempt fails (the one in
 * 3.1.1 after a refusal of 5 included); once connected, a lost connection is retried every second and said in one line.
 */
export async function connectBroker(role: string, settings: BrokerSettings, say: (line: string) => void): Promise<MqttClient> {
  const url = brokerUrl(settings);
  const protocol = settings.protocol ?? 'auto';
  const ca = readCa(settings.ca);
  const client = mqtt.connect(url, {
    ...(ca && { ca }),
    clientId: `mqlive-${role}-${randomBytes(4).toString('hex')}`,
    protocolVersion: protocolVersionFor(protocol),
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(settings.username && { username: settings.username, password: settings.password }),
  });
  // Registered first, so a refusal of MQTT 5 is known as one before the listeners below see it.
  if (protocol === 'auto') fallBackTo311(client, () => say(fallbackLine(withoutCredentials(url))));
  await new Promise<void>((resolve, reject) => {
    /** The close after a refusal of MQTT 5: fallBackTo311 connects again in 3.1.1. */
    let fallingBack = false;
    const onError = (error: Error) => {
      if (leadsToFallback(error)) fallingBack = true;
      else if (protocol === '5' && refusesVersion(error)) fail(`it refuses MQTT 5 (${error.message}): --protocol auto or 3.1.1 speaks MQTT 3.1.1 to it`);
      else fail(error.message, error);
    };
    const onClose = () => {
      if (fallingBack) fallingBack = false;
      else fail('the connection closed', null);
    };
    /**
     * Rejects with `why`; or, for a failure connect-cause.ts may explain (`cause`: the error, or null for a close
     * without one), with its words when it finds the cause.
     */
    const fail = (why: string, cause?: Error | null) => {
      client.removeListener('error', onError).removeListener('close', onClose);
      client.end(true);
      const rejectWith = (words: string) => reject(new CommandError(`cannot connect to ${withoutCredentials(url)}: ${words}`));
      if (cause === undefined) rejectWith(why);
      else void explainFailure(url, cause ?? undefined).then((words) => rejectWith(words ?? why));
    };
    client.once('connect', () => {
      // Only these two: MQTT.js has a 'close' listener of its own (it stops the keep-alive timer and sets up
      // reconnecting); taking all of them away kept a timer alive after the end, and the process with it.
      client.removeListener('error', onError).removeListener('close', onClose);
      resolve();
    });
    client.on('error', onError);
    client.on('close', onClose);
  });
  client.options.reconnectPeriod = 1000;
  let lastError = '';
  client.on('error', (error) => {
    if (error.message !== lastError) say(`MQTT error: ${error.message}`);
    lastError = error.message;
  });
  client.on('offline', () => say(`lost the connection to ${withoutCredentials(url)}; reconnecting every second`));
  client.on('connect', () => {
    say(`connected to ${withoutCredentials(url)} again`);
    lastError = '';
  });
  return client;
}

/**
 * The cause of a first connection that failed, in connect-cause.ts's words: a host that does not resolve, or a
 * port that speaks something else than the URL says (asked of the server itself); null when neither.
 */
async function explainFailure(url: string, error: Error | undefined): Promise<string | null> {
  const unresolved = error && unresolvedHost(error, url);
  if (unresolved) return unresolved;
  if (!reachedWithoutMqtt(error)) return null;
  const kind = await identifyServer(url);
  return kind && wrongPortWords(url, kind);
}

/** A CONNACK that means "not this protocol version": a 3.1.1 broker's 1, an MQTT 5 broker's 0x84 (as mqtt-version.ts). */
function refusesVersion(error: Error): boolean {
  const code = (error as { code?: number }).code;
  return code === 1 || code === 0x84;
}

/**
 * Ends the connection cleanly (DISCONNECT, once what is in flight is acknowledged), waiting at most `timeoutMs`;
 * then cuts it. (MQTT.js ignores a second, forced end() while the first one waits, so the socket is destroyed:
 * a broker that never acknowledges must not keep the process alive.)
 */
export async function disconnect(client: MqttClient, timeoutMs = 3000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.stream?.destroy();
      resolve();
    }, timeoutMs);
    client.end(false, {}, () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `1.2 MiB`, `340 B`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Stops on the first SIGINT or SIGTERM (a second one ends the process at once); returns a function that unhooks it. */
export function onStopSignal(stop: (signal: string) => void): () => void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const handler = () => stop(signal);
    process.once(signal, handler);
    return [signal, handler] as const;
  });
  return () => handlers.forEach(([signal, handler]) => process.removeListener(signal, handler));
}

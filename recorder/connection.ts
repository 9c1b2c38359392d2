/**
 * What `mqlive record` and `mqlive replay` share: their broker flags, the MQTT connection (the first attempt
 * must succeed; after that MQTT.js reconnects by itself), and the progress line's numbers.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { CommandError, UsageError } from '../cli/command';
import { CA_OPTION, readCa } from '../cli/ca';
import type { OptionSpecs } from '../cli/options';

export const BROKER_OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker: mqtt://, mqtts://, ws:// or wss:// (default mqtt://127.0.0.1:1883)' },
  ca: CA_OPTION,
  username: { env: 'MQLIVE_USERNAME', type: 'string', help: 'MQTT user name, when the broker asks for one' },
  password: { env: 'MQLIVE_PASSWORD', type: 'string', help: 'MQTT password (prefer the variable: flags show in ps)' },
} satisfies OptionSpecs;

export interface BrokerSettings {
  url?: string | undefined;
  /** PEM file to trust for mqtts:// and wss:// (--ca). */
  ca?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
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
 * Connects as `mqlive-ROLE-xxxxxx` (MQTT 3.1.1, clean session). Rejects with one line when the first
 * attempt fails; once connected, a lost connection is retried every second and said in one line.
 */
export async function connectBroker(role: string, settings: BrokerSettings, say: (line: string) => void): Promise<MqttClient> {
  const url = brokerUrl(settings);
  const ca = readCa(settings.ca);
  const client = mqtt.connect(url, {
    ...(ca && { ca }),
    clientId: `mqlive-${role}-${randomBytes(4).toString('hex')}`,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(settings.username && { username: settings.username, password: settings.password }),
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => fail(error.message);
    const onClose = () => fail('the connection closed');
    const fail = (why: string) => {
      client.end(true);
      reject(new CommandError(`cannot connect to ${withoutCredentials(url)}: ${why}`));
    };
    client.once('connect', () => {
      // Only these two: MQTT.js has a 'close' listener of its own (it stops the keep-alive timer and sets up
      // reconnecting); taking all of them away kept a timer alive after the end, and the process with it.
      client.removeListener('error', onError).removeListener('close', onClose);
      resolve();
    });
    client.once('error', onError);
    client.once('close', onClose);
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

/** A number of seconds from a flag: > 0 (or >= 0 with `allowZero`); undefined when not given. */
export function parseNumber(value: string | undefined, flag: string, { allowZero = false } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new UsageError(`--${flag} must be a number ${allowZero ? '>= 0' : '> 0'} (got "${value}")`);
  }
  return n;
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

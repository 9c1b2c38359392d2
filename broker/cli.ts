import { parseOptions, parsePort, usage, UsageError, type OptionSpec } from '../protocol/cli-options';
import { startBroker, DEFAULT_VIEWER_DIR } from './broker';
import { createLogger, type LogFormat } from './log';

const OPTIONS = {
  host: { env: 'MQLIVE_HOST', type: 'string', help: 'address both listeners bind to (default 127.0.0.1)' },
  'mqtt-port': { env: 'MQLIVE_MQTT_PORT', type: 'string', help: 'MQTT over TCP port (default 1883, 0 = any free port)' },
  'http-port': { env: 'MQLIVE_HTTP_PORT', type: 'string', help: 'viewer, /mqtt, /healthz and /metrics port (default 8080, 0 = any free port)' },
  'viewer-dir': { env: 'MQLIVE_VIEWER_DIR', type: 'string', help: 'folder of the built viewer (default viewer/dist)' },
  'log-format': { env: 'MQLIVE_LOG_FORMAT', type: 'string', help: 'auto, pretty or json (default auto: pretty on a terminal)' },
  help: { env: 'MQLIVE_HELP', type: 'flag', help: 'print this help' },
} satisfies Record<string, OptionSpec>;

const SHUTDOWN_DEADLINE_MS = 1800;

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(OPTIONS, process.argv.slice(2), process.env);
    if (options['log-format'] && !['auto', 'pretty', 'json'].includes(options['log-format'])) {
      throw new UsageError(`--log-format must be auto, pretty or json (got "${options['log-format']}")`);
    }
  } catch (error) {
    return fail(error, 2);
  }
  if (options.help) return void console.log(usage('npm run broker --', OPTIONS));

  const log = createLogger((options['log-format'] ?? 'auto') as LogFormat);
  let broker;
  try {
    broker = await startBroker({
      host: options.host ?? '127.0.0.1',
      mqttPort: parsePort(options['mqtt-port'], 1883, 'mqtt-port'),
      httpPort: parsePort(options['http-port'], 8080, 'http-port'),
      viewerDir: options['viewer-dir'] ?? DEFAULT_VIEWER_DIR,
      log,
    });
  } catch (error) {
    return fail(error, error instanceof UsageError ? 2 : 1);
  }
  log.info(
    { mqtt: broker.mqttUrl, ws: broker.wsUrl, http: broker.httpUrl },
    `mqlive broker listening: MQTT ${broker.mqttUrl}, MQTT over WebSocket ${broker.wsUrl}, viewer ${broker.httpUrl}`,
  );

  const stop = (signal: string) => {
    log.info(`${signal}: closing every client and stopping`);
    // A stuck socket must not keep the process alive past the promised 2 s.
    setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
    broker.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

/** A user mistake (bad flag, port in use) is one clear line on stderr, not a stack trace. */
function fail(error: unknown, code: number): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`mqlive broker: ${message}`);
  process.exitCode = code;
}

await main();

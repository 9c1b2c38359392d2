import { writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { CommandError, defineCommand, UsageError } from '../cli/command';
import { checkPortsFree, portsInUseMessage } from '../cli/ports';
import { choiceOption, portOption, wholeNumberOption, type OptionSpecs, type OptionValues } from '../cli/options';
import { LibraryMismatchError } from './library-internals';
import { PortInUseError, startBroker, DEFAULT_VIEWER_DIR, type BrokerOptions } from './broker';
import { createLogger, LOG_FORMATS, type Logger } from './log';
import { DEFAULT_LIMITS, LIMIT_FLAGS, limitsFromFlags, type LimitFlag, type LimitFlagName, type Limits } from './security/limits';
import { readAcl } from './security/rights';
import { readUsers } from './security/users';
import { DataDirError } from './store/store';
import { defaultDataDir, resolveDataDir } from './store/data-dir';

const OPTIONS = {
  host: { env: 'MQLIVE_HOST', type: 'string', help: 'address both listeners bind to (default 127.0.0.1)', default: '127.0.0.1' },
  'mqtt-port': portOption({ env: 'MQLIVE_MQTT_PORT', help: 'MQTT over TCP port (default 1883, 0 = any free port)', default: 1883 }),
  'http-port': portOption({ env: 'MQLIVE_HTTP_PORT', help: 'viewer, /mqtt, /healthz and /metrics port (default 8080, 0 = any free port)', default: 8080 }),
  'viewer-dir': { env: 'MQLIVE_VIEWER_DIR', type: 'string', help: 'folder of the built viewer (default viewer/dist)', default: DEFAULT_VIEWER_DIR },
  'log-format': choiceOption(LOG_FORMATS, { env: 'MQLIVE_LOG_FORMAT', help: 'auto, pretty or json (default auto: pretty on a terminal)', default: 'auto' }),
  'data-dir': { env: 'MQLIVE_DATA_DIR', type: 'string', help: `folder for retained messages, sessions and queued messages, kept across restarts; none keeps nothing (default ${defaultDataDir()})` },
  redis: { env: 'MQLIVE_REDIS', type: 'string', help: 'redis://[:PASSWORD@]HOST:PORT[/DB], rediss:// (TLS) or redis+sentinel://HOST:PORT,HOST:PORT/MASTER[/DB] shared by several instances; keep it private (default: in-memory)' },
  'redis-ca': { env: 'MQLIVE_REDIS_CA', type: 'string', help: 'PEM CA file a rediss:// (or rediss+sentinel://) server\'s certificate must chain to (default: the system\'s CAs)' },
  'ready-fd': wholeNumberOption({ env: 'MQLIVE_READY_FD', help: 'file descriptor to write the JSON ready line to (for supervisors)' }, 0),
  id: { env: 'MQLIVE_ID', type: 'string', help: 'this instance\'s id, in logs, /metrics and $SYS (default: random)' },
  users: { env: 'MQLIVE_USERS', type: 'string', help: 'users file (mqlive users): logins and per-role topic rights' },
  acl: { env: 'MQLIVE_ACL', type: 'string', help: 'ACL file: extra allow/deny rules by topic, user or role' },
  'allow-anonymous': { env: 'MQLIVE_ALLOW_ANONYMOUS', type: 'flag', help: 'accept clients without credentials beyond loopback (or, with --users, as viewers)', default: false },
  'tls-cert': { env: 'MQLIVE_TLS_CERT', type: 'string', help: 'PEM certificate: turns on mqtts and serves the viewer and /mqtt over https/wss' },
  'tls-key': { env: 'MQLIVE_TLS_KEY', type: 'string', help: 'PEM private key for --tls-cert' },
  'mqtts-port': portOption({ env: 'MQLIVE_MQTTS_PORT', help: 'MQTT over TLS port (default 8883)', default: 8883 }),
  'allowed-origins': { env: 'MQLIVE_ALLOWED_ORIGINS', type: 'string', help: 'comma list of browser origins allowed on /mqtt, or * (default: its own and localhost)' },
  'allowed-hosts': { env: 'MQLIVE_ALLOWED_HOSTS', type: 'string', help: 'comma list of host names requests may use besides IP addresses, localhost and --host, or * (DNS rebinding defence)' },
  ...limitOptions(),
} satisfies OptionSpecs;

/** One option per limit flag (security/limits.ts): `--max-packet-bytes N`, MQLIVE_MAX_PACKET_BYTES, its default in the help. */
export function limitOptions() {
  const option = ({ limit, help, aside }: LimitFlag, flag: string) =>
    wholeNumberOption({ env: `MQLIVE_${flag.toUpperCase().replaceAll('-', '_')}`, help: `${help} (${aside ? `${aside}; ` : ''}default ${DEFAULT_LIMITS[limit]})` });
  return Object.fromEntries(Object.entries(LIMIT_FLAGS).map(([flag, entry]) => [flag, option(entry, flag)])) as Record<LimitFlagName, ReturnType<typeof option>>;
}

const SHUTDOWN_DEADLINE_MS = 1800;

export const brokerCommand = defineCommand({
  name: 'broker',
  summary: 'the MQTT broker: MQTT over TCP, MQTT over WebSocket at /mqtt, the viewer, /healthz and /metrics',
  options: OPTIONS,
  async run(options) {
    const log = createLogger(options['log-format']);
    const broker = await startBroker(await brokerOptions(options, log)).catch(async (error: unknown) => {
      if (error instanceof LibraryMismatchError || error instanceof DataDirError) throw new CommandError(error.message);
      if (!(error instanceof PortInUseError)) throw error;
      // Taken between the check (brokerOptions) and the listen: said the same way.
      throw new CommandError(await portsInUseMessage([{ flag: error.flag, host: error.host, port: error.port }]));
    });
    const stop = (signal: string) => {
      log.info(`${signal}: closing every client and stopping`);
      // Connections torn down mid-flight (Redis commands, half-written packets) may fail while we close;
      // that is the shutdown working, not a reason for a failing exit code.
      const duringShutdown = (error: unknown) => log.warn({ err: String(error) }, `ignored while shutting down: ${String(error)}`);
      process.on('uncaughtException', duringShutdown);
      process.on('unhandledRejection', duringShutdown);
      // A stuck socket must not keep the process alive past the promised 2 s.
      setTimeout(() => process.exit(0), SHUTDOWN_DEADLINE_MS).unref();
      broker.close().then(() => process.exit(0));
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    // Ready is said only once a signal would stop it cleanly: one machine-readable line for scripts
    // (`mqlive up`, tests, the bench), then the same for people.
    const ready: ReadyEvent = { event: 'ready', id: broker.id, mqtt: broker.mqttUrl, ws: broker.wsUrl, http: broker.httpUrl, mqtts: broker.mqttsUrl, dataDir: broker.dataDir };
    const kept = options.redis ? 'data in Redis' : broker.dataDir ? `data in ${broker.dataDir}` : 'nothing kept on disk (--data-dir none)';
    log.info(
      ready,
      `mqlive broker${options.id || options.redis ? ` ${broker.id}` : ''} listening: MQTT ${broker.mqttUrl}, MQTT over WebSocket ${broker.wsUrl}, viewer ${broker.httpUrl}` +
        (broker.mqttsUrl ? `, MQTT over TLS ${broker.mqttsUrl}` : '') +
        `; ${kept}`,
    );
    if (options['ready-fd'] !== undefined) writeSync(options['ready-fd'], `${JSON.stringify(ready)}\n`);
  },
});

/** The broker's readiness, as one JSON object: in its log, and on --ready-fd for a supervising process. */
export interface ReadyEvent {
  event: 'ready';
  id: string;
  mqtt: string;
  ws: string;
  http: string;
  mqtts: string | null;
  /** The durable store's folder; null when nothing is kept on disk (--data-dir none, or --redis). */
  dataDir: string | null;
}

async function brokerOptions(options: OptionValues<typeof OPTIONS>, log: Logger): Promise<BrokerOptions> {
  const host = options.host;
  const users = options.users ? await readUsers(options.users) : null;
  if (!isLoopback(host) && !users && !options['allow-anonymous']) {
    throw new UsageError(
      `refusing to listen on ${host} without --users: anyone on that network could read this mouse and write to its topics. ` +
        'Create users with mqlive users add NAME --role viewer --file users.json and pass --users users.json, ' +
        'or pass --allow-anonymous to accept that risk',
    );
  }
  if (!!options['tls-cert'] !== !!options['tls-key']) throw new UsageError('--tls-cert and --tls-key go together');
  if (options['redis-ca'] && !options.redis) throw new UsageError('--redis-ca goes with --redis rediss://…');
  if (options.redis && options['data-dir'] && options['data-dir'] !== 'none') throw new UsageError('--data-dir and --redis do not go together: with --redis, Redis keeps the retained messages and sessions');
  const limits: Partial<Limits> = limitsFromFlags(options);
  const mqttPort = options['mqtt-port'];
  const httpPort = options['http-port'];
  const mqttsPort = options['tls-cert'] ? options['mqtts-port'] : null;
  // Every port checked, and every one in use said in one line, before anything opens (the store, Redis). With TLS
  // on, plain MQTT listens on loopback only (as startBroker does).
  await checkPortsFree([
    { flag: 'mqtt-port', host: mqttsPort === null ? host : '127.0.0.1', port: mqttPort },
    ...(mqttsPort === null ? [] : [{ flag: 'mqtts-port', host, port: mqttsPort }]),
    { flag: 'http-port', host, port: httpPort },
  ]);
  const brokerOptions: BrokerOptions = {
    host,
    mqttPort,
    httpPort,
    viewerDir: options['viewer-dir'],
    log,
    users,
    allowAnonymous: options['allow-anonymous'],
    acl: options.acl ? await readAcl(options.acl) : [],
    tls: options['tls-cert']
      ? { cert: await readPem(options['tls-cert'], 'tls-cert'), key: await readPem(options['tls-key']!, 'tls-key'), port: mqttsPort! }
      : null,
    allowedOrigins: options['allowed-origins'] ? options['allowed-origins'].split(',').map((o) => o.trim()) : null,
    allowedHosts: options['allowed-hosts'] ? options['allowed-hosts'].split(',').map((h) => h.trim()).filter(Boolean) : null,
    limits,
    id: options.id,
    dataDir: options.redis ? null : resolveDataDir(options['data-dir']),
    // Acknowledged means written: a broker that can no longer write says why and stops, rather than acknowledge and lose.
    onStoreFailure(error) {
      log.error({ event: 'store_failed', err: error.message }, error.message);
      process.exit(1);
    },
    // Loaded only when asked for: the Redis client and its adapters add about 20 MiB to every broker otherwise.
    redis: options.redis
      ? await (await import('./redis')).connectRedis(options.redis, log, {
          ca: options['redis-ca'] ? await readPem(options['redis-ca'], 'redis-ca') : undefined,
          limits: { ...DEFAULT_LIMITS, ...limits },
        })
      : null,
  };
  if (options['allow-anonymous'] && !isLoopback(host)) {
    log.warn(`WARNING: listening on ${host} with --allow-anonymous: anyone who can reach this address may connect${users ? " with a viewer's rights" : ' and read and write every topic'}`);
  }
  return brokerOptions;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function readPem(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new UsageError(`--${flag} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

import { hostname } from 'node:os';
import { assertId, sanitizeId } from '../protocol';
import { parseOptions, usage, UsageError, type OptionSpec } from '../protocol/cli-options';
import { connectDevice } from '../protocol/device-client';
import { MousePublisher } from './publisher';
import { openSource, sourceFlags, sourceHelp } from './sources';
import { runCommand } from './sources/platform';
import { SourceFlagError, type MouseSource, type SourceContext } from './sources/source';
import { DisplayError, probeDisplay } from './x11-display';

const OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker: mqtt://, ws:// or wss:// (default mqtt://127.0.0.1:1883)' },
  device: { env: 'MQLIVE_DEVICE', type: 'string', help: 'device id [A-Za-z0-9_-]{1,64} (default: this host name)' },
  source: { env: 'MQLIVE_SOURCE', type: 'string', help: 'where the mouse comes from (default auto; the sources are listed below)' },
  'move-hz': { env: 'MQLIVE_MOVE_HZ', type: 'string', help: 'most moves published per second; 0 sends every one (default 60)' },
  keepalive: { env: 'MQLIVE_KEEPALIVE', type: 'string', help: 'MQTT keep-alive in seconds (default 10)' },
  username: { env: 'MQLIVE_USERNAME', type: 'string', help: 'MQTT user name, when the broker asks for one' },
  password: { env: 'MQLIVE_PASSWORD', type: 'string', help: 'MQTT password (prefer the variable: flags show in ps)' },
  ...Object.fromEntries(Object.entries(sourceFlags()).map(([name, flag]) => [name, { ...flag, type: 'string' as const }])),
  help: { env: 'MQLIVE_HELP', type: 'flag', help: 'print this help' },
} satisfies Record<string, OptionSpec>;

const EXIT_USAGE = 2;
const EXIT_NO_CAPTURE = 3;

const SOURCE_CONTEXT: SourceContext = {
  platform: process.platform,
  env: process.env,
  say: (line) => console.log(line),
  run: runCommand,
  probeX11: (display) => probeDisplay(display),
};

async function main(): Promise<void> {
  let publisher: MousePublisher;
  try {
    const options = parseOptions(OPTIONS, process.argv.slice(2), process.env);
    if (options.help) return void console.log(`${usage('npm run publisher --', OPTIONS)}\n\nsources (--source):\n${sourceHelp()}`);
    const url = options.url ?? 'mqtt://127.0.0.1:1883';
    if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) throw new UsageError(`--url must start with mqtt://, mqtts://, ws:// or wss:// (got "${url}")`);
    const device = options.device !== undefined ? assertId(options.device) : sanitizeId(hostname());
    const moveHz = Number(options['move-hz'] ?? 60);
    if (!Number.isFinite(moveHz) || moveHz < 0) throw new UsageError(`--move-hz must be a number >= 0 (got "${options['move-hz']}")`);

    const keepalive = Number(options.keepalive ?? 10);
    if (!Number.isInteger(keepalive) || keepalive < 1 || keepalive > 65535) throw new UsageError(`--keepalive must be whole seconds from 1 to 65535 (got "${options.keepalive}")`);

    let source: MouseSource;
    try {
      const given = options as Record<string, string | undefined>;
      const flags = Object.fromEntries(
        Object.entries(sourceFlags()).map(([name, flag]) => [name, flag.type === 'list' && given[name] !== undefined ? [given[name]] : given[name]]),
      );
      source = await openSource(options.source ?? 'auto', SOURCE_CONTEXT, flags);
    } catch (error) {
      if (error instanceof SourceFlagError) throw error;
      const hint = error instanceof DisplayError ? '. Start an X server, set DISPLAY, or use --source demo.' : '';
      console.error(`mqlive publisher: ${(error as Error).message}${hint}`);
      process.exitCode = EXIT_NO_CAPTURE;
      return;
    }
    if (source.kind === 'demo') console.log('Source: demo (a synthetic mouse, marked source "demo" in meta)');
    const mqtt = { keepalive, ...(options.username && { username: options.username, password: options.password }) };
    const client = connectDevice({ url, device, mqtt, meta: () => publisher.meta() });
    publisher = new MousePublisher(client, { url, source, moveHz });
  } catch (error) {
    console.error(`mqlive publisher: ${(error as Error).message}`);
    process.exitCode = EXIT_USAGE;
    return;
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: publishing offline and stopping`);
    setTimeout(() => process.exit(0), 3000).unref();
    await publisher.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  try {
    await publisher.start();
  } catch (error) {
    console.error(`mqlive publisher: ${(error as Error).message}`);
    await publisher.stop().catch(() => {});
    process.exit(EXIT_NO_CAPTURE);
  }
}

await main();

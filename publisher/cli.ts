import { hostname } from 'node:os';
import { assertId, sanitizeId } from '../protocol';
import { CommandError, defineCommand, EXIT, UsageError, userValue } from '../cli/command';
import type { OptionSpecs } from '../cli/options';
import { connectDevice } from '../protocol/device-client';
import { MousePublisher } from './publisher';
import { DemoSource } from './sources/demo-source';
import type { MouseSource } from './sources/source';
import { UiohookSource } from './sources/uiohook-source';

const OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker: mqtt://, ws:// or wss:// (default mqtt://127.0.0.1:1883)' },
  device: { env: 'MQLIVE_DEVICE', type: 'string', help: 'device id [A-Za-z0-9_-]{1,64} (default: this host name)' },
  source: { env: 'MQLIVE_SOURCE', type: 'string', help: 'auto, uiohook or demo (default auto: uiohook when an X display answers)' },
  'move-hz': { env: 'MQLIVE_MOVE_HZ', type: 'string', help: 'most moves published per second; 0 sends every one (default 60)' },
  keepalive: { env: 'MQLIVE_KEEPALIVE', type: 'string', help: 'MQTT keep-alive in seconds (default 10)' },
  username: { env: 'MQLIVE_USERNAME', type: 'string', help: 'MQTT user name, when the broker asks for one' },
  password: { env: 'MQLIVE_PASSWORD', type: 'string', help: 'MQTT password (prefer the variable: flags show in ps)' },
} satisfies OptionSpecs;

async function openSource(kind: string): Promise<MouseSource> {
  if (kind === 'demo') return new DemoSource();
  try {
    return await UiohookSource.open();
  } catch (error) {
    if (kind === 'uiohook') throw error;
    console.warn(`No X display for real capture (${(error as Error).message}); using the demo source instead.`);
    return new DemoSource();
  }
}

export const publisherCommand = defineCommand({
  name: 'publisher',
  summary: "the capture publisher: this machine's mouse (or a demo mouse) to devices/{device}/mouse/*",
  options: OPTIONS,
  async run(options) {
    const url = options.url ?? 'mqtt://127.0.0.1:1883';
    if (!/^(mqtts?|wss?):\/\/[^/]+/.test(url)) throw new UsageError(`--url must start with mqtt://, mqtts://, ws:// or wss:// (got "${url}")`);
    const device = options.device !== undefined ? userValue(() => assertId(options.device)) : sanitizeId(hostname());
    const sourceKind = options.source ?? 'auto';
    if (!['auto', 'uiohook', 'demo'].includes(sourceKind)) throw new UsageError(`--source must be auto, uiohook or demo (got "${sourceKind}")`);
    const moveHz = Number(options['move-hz'] ?? 60);
    if (!Number.isFinite(moveHz) || moveHz < 0) throw new UsageError(`--move-hz must be a number >= 0 (got "${options['move-hz']}")`);
    const keepalive = Number(options.keepalive ?? 10);
    if (!Number.isInteger(keepalive) || keepalive < 1 || keepalive > 65535) throw new UsageError(`--keepalive must be whole seconds from 1 to 65535 (got "${options.keepalive}")`);

    let source: MouseSource;
    try {
      source = await openSource(sourceKind);
    } catch (error) {
      throw new CommandError(`${(error as Error).message}. Start an X server, set DISPLAY, or use --source demo.`, EXIT.noCapture);
    }
    if (source.kind === 'demo') console.log('Source: demo (a synthetic mouse, marked source "demo" in meta)');
    const mqtt = { keepalive, ...(options.username && { username: options.username, password: options.password }) };
    const client = connectDevice({ url, device, mqtt, meta: () => publisher.meta() });
    const publisher: MousePublisher = new MousePublisher(client, { url, source, moveHz });

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
      await publisher.stop().catch((stopError: Error) => console.error(`(while stopping: ${stopError.message})`));
      throw new CommandError((error as Error).message, EXIT.noCapture);
    }
  },
});

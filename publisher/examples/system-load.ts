/**
 * An extra publisher on new topics, built on protocol/device-client: this machine's load and memory every
 * second. It shows up in the viewer's device list and topic tree (its page charts the numbers) with no change to mqlive.
 *
 *   npm run example:system -- --url mqtt://127.0.0.1:1883 --device pi
 *
 * Topics: devices/{device}/system/load (plain number, the 1-minute load average)
 *         devices/{device}/system/memory ({"usedMB","totalMB","percent"})
 */
import { freemem, hostname, loadavg, totalmem } from 'node:os';
import { assertId, sanitizeId, SCHEMA_VERSION } from '../../protocol';
import { defineCommand, runCommand, UsageError, userValue } from '../../cli/command';
import type { OptionSpecs } from '../../cli/options';
import { connectDevice } from '../../protocol/device-client';
import { CA_OPTION, readCa } from '../../cli/ca';
import { reportConnection } from '../connection-report';

const OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker: mqtt://, mqtts://, ws://HOST:PORT/mqtt or wss://HOST:PORT/mqtt (default mqtt://127.0.0.1:1883)' },
  ca: CA_OPTION,
  device: { env: 'MQLIVE_DEVICE', type: 'string', help: 'device id (default: host name + "-system")' },
  every: { env: 'MQLIVE_EVERY_MS', type: 'string', help: 'milliseconds between readings (default 1000)' },
} satisfies OptionSpecs;

const systemLoad = defineCommand({
  name: 'example:system',
  summary: "an extra publisher: this machine's load and memory every second on devices/{device}/system/*",
  synopsis: ['-- [options]'],
  options: OPTIONS,
  async run(options) {
    const id = options.device !== undefined ? userValue(() => assertId(options.device)) : sanitizeId(`${hostname()}-system`);
    const every = Number(options.every ?? 1000);
    if (!(every >= 100)) throw new UsageError('--every must be at least 100 (ms)');
    const url = options.url ?? 'mqtt://127.0.0.1:1883';
    const startedAt = Date.now();

    const ca = readCa(options.ca);

    const device = connectDevice({
      url,
      device: id,
      meta: () => ({ name: `${hostname()} system`, kind: 'system', source: 'os', screen: null, host: hostname(), version: '1', schema: SCHEMA_VERSION, startedAt }),
      mqtt: { ...(ca && { ca }) },
    });
    reportConnection(device.client, {
      url,
      device: id,
      say: (line) => console.log(line),
      connected: () => `Connected to ${url} as device "${id}"`,
      waiting: 'readings wait in a queue until it is back',
    });

    const timer = setInterval(() => {
      const totalMB = Math.round(totalmem() / 2 ** 20);
      const usedMB = totalMB - Math.round(freemem() / 2 ** 20);
      void device.publish(`devices/${id}/system/load`, loadavg()[0]!.toFixed(2));
      void device.publish(`devices/${id}/system/memory`, JSON.stringify({ usedMB, totalMB, percent: Math.round((100 * usedMB) / totalMB) }));
    }, every);

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, async () => {
        clearInterval(timer);
        // Sends what is queued and publishes offline first; with the broker away, gives up after 2 s.
        await device.close(2000).catch((error: Error) => console.log(error.message));
        process.exit(0);
      });
    }
  },
});

const code = await runCommand(systemLoad, { program: 'npm run' });
if (code !== 0) process.exit(code);

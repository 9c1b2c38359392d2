/**
 * An extra publisher on new topics, built on protocol/device-client: this machine's load and memory every
 * second. It shows up in the viewer's device list and topic explorer (with plots) with no change to mqlive.
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

const OPTIONS = {
  url: { env: 'MQLIVE_URL', type: 'string', help: 'broker URL (default mqtt://127.0.0.1:1883)' },
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

    const device = connectDevice({
      url,
      device: id,
      meta: () => ({ name: `${hostname()} system`, kind: 'system', source: 'os', screen: null, host: hostname(), version: '1', schema: SCHEMA_VERSION, startedAt }),
    });
    device.client.on('connect', () => console.log(`Connected to ${url} as device "${id}"`));
    device.client.on('error', (error) => console.log(`MQTT error: ${error.message}`));

    const timer = setInterval(() => {
      const totalMB = Math.round(totalmem() / 2 ** 20);
      const usedMB = totalMB - Math.round(freemem() / 2 ** 20);
      void device.publish(`devices/${id}/system/load`, loadavg()[0]!.toFixed(2));
      void device.publish(`devices/${id}/system/memory`, JSON.stringify({ usedMB, totalMB, percent: Math.round((100 * usedMB) / totalMB) }));
    }, every);

    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, async () => {
        clearInterval(timer);
        await device.close(); // publishes offline first
        process.exit(0);
      });
    }
  },
});

const code = await runCommand(systemLoad, { program: 'npm run' });
if (code !== 0) process.exit(code);

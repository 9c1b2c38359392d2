import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from './mqtt';
import { freePort } from './ports';
import { spawnProcess, type Spawned } from './processes';
import { requireTool } from './tools';
import { waitUntilAnswers } from './wait';

export interface Mosquitto {
  mqttPort: number;
  wsPort: number;
  process: Spawned;
  stop(): Promise<void>;
}

/**
 * Debian's mosquitto with its own config: an MQTT listener and a websockets listener on free loopback ports.
 * `acl`: the lines of an ACL file (anonymous clients get the rules before any `user` line); none: all allowed.
 * `persistence`: `persistence true` with its database in the temp folder (written at Mosquitto's default
 * autosave_interval, 30 minutes, and on shutdown), as a user who turns it on gets it; default off.
 */
export async function startMosquitto(options: { acl?: string[]; persistence?: boolean } = {}): Promise<Mosquitto> {
  requireTool('/usr/sbin/mosquitto', 'mosquitto');
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-mosquitto-'));
  const mqttPort = await freePort();
  const wsPort = await freePort();
  const config = join(dir, 'mosquitto.conf');
  const aclFile = join(dir, 'acl');
  if (options.acl) {
    writeFileSync(aclFile, `${options.acl.join('\n')}\n`, { mode: 0o644 });
    // Started as root, mosquitto reads its ACL file after it drops to its own user.
    chmodSync(dir, 0o755);
  }
  // Started as root, mosquitto writes its database after it drops to its own user: a folder anyone may write.
  if (options.persistence) chmodSync(dir, 0o777);
  writeFileSync(
    config,
    [
      'per_listener_settings false',
      'allow_anonymous true',
      ...(options.persistence ? ['persistence true', `persistence_location ${dir}/`] : ['persistence false']),
      'log_dest stderr',
      ...(options.acl ? [`acl_file ${aclFile}`] : []),
      `listener ${mqttPort} 127.0.0.1`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      '',
    ].join('\n'),
  );
  const proc = spawnProcess('/usr/sbin/mosquitto', ['-c', config]);
  // Ready when it answers a CONNECT (bounded).
  await waitUntilAnswers(async () => (await connect(`mqtt://127.0.0.1:${mqttPort}`, {}, 1000)).end(true), 'mosquitto', { context: proc.output });
  return {
    mqttPort,
    wsPort,
    process: proc,
    async stop() {
      await proc.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './ports';
import { spawnProcess, type Spawned } from './processes';
import { requireTool } from './tools';
import { waitUntilAnswers } from './wait';

export interface RedisServer {
  port: number;
  url: string;
  process: Spawned;
  /** Stops it (SIGTERM unless said) and removes its folder. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Debian's redis-server on a free loopback port, with no persistence, in a folder of its own. */
export async function startRedis(port?: number): Promise<RedisServer> {
  requireTool('redis-server', 'redis-server');
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-redis-'));
  const proc = spawnProcess('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await waitUntilAnswers(
    () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(p, '127.0.0.1', () => (s.destroy(), resolve()));
        s.on('error', reject);
      }),
    'redis-server',
    { context: proc.output },
  );
  return {
    port: p,
    url: `redis://127.0.0.1:${p}`,
    process: proc,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await proc.stop(signal);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './ports';
import { spawnProcess, type Spawned } from './processes';
import { selfSignedCert } from './security';
import { requireTool } from './tools';
import { waitUntilAnswers } from './wait';

export interface RedisServer {
  port: number;
  /** The URL a broker is given: `redis://` (with the password if any), or `rediss://` for TLS. */
  url: string;
  /** With `tls`: the self-signed certificate's file, to pass as `--redis-ca`. */
  caFile?: string;
  process: Spawned;
  /** Stops it (SIGTERM unless said) and removes its folder. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface RedisServerOptions {
  /** `requirepass`: clients must send this password (AUTH). */
  password?: string;
  /** Only TLS on `port` (a self-signed certificate for 127.0.0.1 made by openssl), no plain port. */
  tls?: boolean;
  /** A replica of the Redis on this loopback port (`--replicaof`). */
  replicaOf?: number;
}

/** Debian's redis-server on a free loopback port, with no persistence, in a folder of its own. */
export async function startRedis(port?: number, options: RedisServerOptions = {}): Promise<RedisServer> {
  requireTool('redis-server', 'redis-server');
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-redis-'));
  const cert = options.tls ? selfSignedCert() : null;
  const listen = cert
    ? ['--port', '0', '--tls-port', String(p), '--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile, '--tls-ca-cert-file', cert.certFile, '--tls-auth-clients', 'no']
    : ['--port', String(p)];
  const auth = options.password ? ['--requirepass', options.password] : [];
  const replica = options.replicaOf ? ['--replicaof', '127.0.0.1', String(options.replicaOf)] : [];
  const proc = spawnProcess('redis-server', [...listen, ...auth, ...replica, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await waitUntilAnswers(
    () =>
      new Promise<void>((resolve, reject) => {
        const s = connect(p, '127.0.0.1', () => (s.destroy(), resolve()));
        s.on('error', reject);
      }),
    'redis-server',
    { context: proc.output },
  );
  const password = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    port: p,
    url: `${cert ? 'rediss' : 'redis'}://${password}127.0.0.1:${p}`,
    ...(cert && { caFile: cert.certFile }),
    process: proc,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      await proc.stop(signal);
      rmSync(dir, { recursive: true, force: true });
      if (cert) rmSync(join(cert.certFile, '..'), { recursive: true, force: true });
    },
  };
}

export interface SentinelRedis {
  /** `redis+sentinel://127.0.0.1:S1,127.0.0.1:S2,127.0.0.1:S3/mymaster`, for `--redis`. */
  url: string;
  master: string;
  primary: RedisServer;
  replica: RedisServer;
  sentinels: { port: number; process: Spawned }[];
  /** The port the sentinels now give for the master, asked of the first sentinel that answers. */
  masterPort(): Promise<number>;
  /**
   * Kills the primary with SIGKILL (by its PID) and returns when a sentinel announces `+switch-master` to
   * another port (bounded), with the new primary's port. The announcement is subscribed to before the kill.
   */
  killPrimaryAndWaitForFailover(timeoutMs?: number): Promise<number>;
  /** Ends what it started (the sentinels, the replica, the primary if still running) and removes its folder. */
  stop(): Promise<void>;
}

const MASTER = 'mymaster';

/**
 * Debian's Redis with Sentinel, all on loopback free ports: one primary, one replica (`--replicaof`), and three
 * `redis-sentinel` processes (quorum 2, the primary seen down after 1 s, a failover given 5 s). Returns once
 * every sentinel sees the primary, the replica (in sync) and the two other sentinels, so a failover can start
 * at once.
 */
export async function startSentinelRedis(): Promise<SentinelRedis> {
  requireTool('redis-sentinel', 'redis-sentinel');
  const primary = await startRedis();
  const started: { stop(): Promise<unknown> }[] = [primary];
  const stopAll = async () => {
    for (const s of started.splice(0).reverse()) await s.stop();
  };
  try {
    const replica = await startRedis(undefined, { replicaOf: primary.port });
    started.push(replica);
    const dir = mkdtempSync(join(tmpdir(), 'mqlive-sentinel-'));
    started.push({ stop: async () => rmSync(dir, { recursive: true, force: true }) });
    const sentinels: { port: number; process: Spawned }[] = [];
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      // Sentinel rewrites its file (what it learns, the new primary after a failover): one each, writable.
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 5000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      );
      const process = spawnProcess('redis-sentinel', [conf]);
      const sentinel = { port, process };
      sentinels.push(sentinel);
      started.push({ stop: () => process.stop() });
    }

    const ask = async <T>(port: number, command: string[]): Promise<T> => {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 2000 });
      client.on('error', () => {}); // said by the rejected command
      try {
        await client.connect();
        return (await client.call(command[0]!, ...command.slice(1))) as T;
      } finally {
        client.disconnect();
      }
    };
    // Ready for a failover: each sentinel knows the replica (in sync with the primary) and the two others.
    const output = () => [primary, replica].map((r) => r.process.output()).concat(sentinels.map((s) => s.process.output())).join('\n');
    await waitUntilAnswers(
      async () => {
        const info = await ask<string>(replica.port, ['INFO', 'replication']);
        if (!info.includes('master_link_status:up')) throw new Error('the replica is not in sync yet');
        for (const { port } of sentinels) {
          const replicas = await ask<unknown[]>(port, ['SENTINEL', 'REPLICAS', MASTER]);
          const others = await ask<unknown[]>(port, ['SENTINEL', 'SENTINELS', MASTER]);
          if (replicas.length !== 1 || others.length !== 2) throw new Error(`sentinel ${port} sees ${replicas.length} replica(s) and ${others.length} other sentinel(s)`);
        }
      },
      'the sentinels (seeing the replica and each other)',
      { attempts: 150, everyMs: 200, context: output },
    );

    const masterPort = async () => {
      for (const { port } of sentinels) {
        try {
          const [, masterPortText] = await ask<[string, string]>(port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER]);
          return Number(masterPortText);
        } catch {
          // that sentinel did not answer: the next
        }
      }
      throw new Error('no sentinel answers');
    };

    return {
      url: `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${MASTER}`,
      master: MASTER,
      primary,
      replica,
      sentinels,
      masterPort,
      async killPrimaryAndWaitForFailover(timeoutMs = 30_000) {
        const watchers = sentinels.map(({ port }) => {
          const w = new Redis({ host: '127.0.0.1', port, retryStrategy: () => null, maxRetriesPerRequest: 0 });
          w.on('error', () => {});
          return w;
        });
        try {
          await Promise.all(watchers.map((w) => w.subscribe('+switch-master')));
          const switched = new Promise<number>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`no +switch-master within ${timeoutMs} ms\n${output()}`)), timeoutMs);
            for (const w of watchers)
              w.on('message', (_channel: string, message: string) => {
                // "<master name> <old ip> <old port> <new ip> <new port>"
                const [name, , , , newPort] = message.split(' ');
                if (name !== MASTER || Number(newPort) === primary.port) return;
                clearTimeout(timer);
                resolve(Number(newPort));
              });
          });
          await primary.stop('SIGKILL');
          return await switched;
        } finally {
          for (const w of watchers) w.disconnect();
        }
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

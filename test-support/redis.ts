import { mkdtempSync, rmSync } from 'node:fs';
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
  const proc = spawnProcess('redis-server', [...listen, ...auth, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
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

import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export type ProxyMode = 'forward' | 'blackhole' | 'refuse';

/**
 * A TCP proxy on 127.0.0.1 that a test can break: 'blackhole' stops forwarding on every open connection
 * (and any new one) without closing anything, as a dead network path does (no FIN, no RST); 'refuse'
 * closes new connections at once; 'forward' carries traffic again (for new connections).
 */
export async function startTcpProxy(targetPort: number) {
  let mode: ProxyMode = 'forward';
  const pairs = new Set<{ client: Socket; upstream: Socket; dead: boolean }>();
  const server = createServer((client) => {
    client.on('error', () => {});
    if (mode === 'refuse') return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    const pair = { client, upstream, dead: mode === 'blackhole' };
    pairs.add(pair);
    client.on('data', (d) => void (!pair.dead && upstream.write(d)));
    upstream.on('data', (d) => void (!pair.dead && client.write(d)));
    const close = () => {
      pairs.delete(pair);
      if (!pair.dead) {
        client.destroy();
        upstream.destroy();
      }
    };
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    setMode(next: ProxyMode) {
      mode = next;
      if (next !== 'forward') for (const pair of pairs) pair.dead = true;
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

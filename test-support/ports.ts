import { createServer, type AddressInfo } from 'node:net';

/** A port free on 127.0.0.1 right now, for a process that cannot take port 0 (it may be taken again later). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

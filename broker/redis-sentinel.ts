import { Redis, type RedisOptions } from 'ioredis';

/**
 * For `redis+sentinel://`: asks every sentinel at once where the master `options.name` is, so that a broker
 * started on a wrong list or name says which at start. Null when a sentinel knows the master; else why not, in
 * one line: none answered (each one's error), or those that answered know no master by that name.
 */
export async function sentinelProblem(options: RedisOptions, timeoutMs: number): Promise<string | null> {
  const { sentinels = [], name = '' } = options;
  const answers = await Promise.all(
    sentinels.map(async ({ host = '127.0.0.1', port = 26379 }) => {
      const sentinel = new Redis({
        host,
        port,
        password: options.sentinelPassword,
        tls: options.sentinelTLS,
        lazyConnect: true,
        enableReadyCheck: false,
        connectTimeout: timeoutMs,
        commandTimeout: timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      // The cause (refused, a wrong password) comes as an 'error' event; connect() then says only "closed".
      let cause: Error | null = null;
      sentinel.on('error', (error: Error) => (cause ??= error));
      try {
        await sentinel.connect();
        const address = await sentinel.call('SENTINEL', 'get-master-addr-by-name', name);
        return { knows: Array.isArray(address) };
      } catch (error) {
        return { failed: `${host}:${port}: ${(cause ?? (error as Error)).message}` };
      } finally {
        sentinel.disconnect();
      }
    }),
  );
  if (answers.some((a) => a.knows)) return null;
  const failed = answers.flatMap((a) => a.failed ?? []);
  if (failed.length === answers.length) return `no sentinel answers (${failed.join('; ')})`;
  return `the sentinels know no master named "${name}"${failed.length ? ` (and ${failed.join('; ')})` : ''}`;
}

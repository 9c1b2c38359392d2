/** Waits between tries to bring a capture back: 1 s, doubling to 30 s at most. */
export const MAX_BACKOFF_MS = 30_000;

export function backoffDelay(failures: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** failures);
}

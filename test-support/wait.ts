/**
 * Tries `probe` until it resolves, at most `attempts` times `everyMs` apart: for a server another process is
 * starting, ready once it answers. Rejects with `what` and the last error (and `context()`, e.g. its output).
 */
export async function waitUntilAnswers<T>(probe: () => Promise<T>, what: string, options: { attempts?: number; everyMs?: number; context?: () => string } = {}): Promise<T> {
  const { attempts = 50, everyMs = 100, context } = options;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await probe();
    } catch (error) {
      last = error;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
  throw new Error(`${what} did not answer after ${attempts} tries: ${(last as Error)?.message ?? last}${context ? `\n${context()}` : ''}`);
}

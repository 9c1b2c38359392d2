import type { AedesOptions } from 'aedes';
import { printable, type Logger } from './log';

type Hooks = Pick<Required<AedesOptions>, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>;

/** A broker fault: what refused the client when one of its own hooks threw. */
export const HOOK_FAILED = 'hook_failed';

/**
 * Wraps Aedes's hooks so that nothing a client sends can throw into Aedes, whose parser would pass the error up
 * to the process and end it. A hook that throws refuses what it was asked with a logged reason instead: the
 * connection closed (preConnect), no login (CONNACK 3, server unavailable), the publishing client disconnected,
 * SUBACK 0x80, no delivery. A callback is answered once: when a hook threw after answering, the answer it gave
 * stands.
 */
export function guardHooks(hooks: Hooks, log: Logger, onFault: () => void = () => {}): Hooks {
  const fault = (hook: string, clientId: string | undefined, error: unknown) => {
    onFault();
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log.error({ event: HOOK_FAILED, hook, clientId, err: message.slice(0, 500) }, `mqlive's ${hook} hook failed for ${printable(clientId ?? '(no id)')}; refused: ${printable(message.slice(0, 200))}`);
  };
  /**
   * Calls `hook` with a callback that can answer once; if it throws unanswered, or the promise it returns (an
   * asynchronous hook: the login's password check) rejects unanswered, `refuse` answers. A throw after the answer
   * comes from what Aedes did with it: logged as such, and nothing answered twice.
   */
  const once = <D extends (...args: never[]) => void>(hook: keyof Hooks, clientId: string | undefined, done: D, run: (answer: D) => unknown, refuse: (answer: D) => void) => {
    let answered = false;
    const answer = ((...args: Parameters<D>) => {
      if (answered) return;
      answered = true;
      done(...args);
    }) as D;
    const failed = (error: unknown) => {
      fault(answered ? `${hook} (after it answered)` : hook, clientId, error);
      if (!answered) refuse(answer);
    };
    try {
      const returned = run(answer);
      if (returned instanceof Promise) returned.catch(failed);
    } catch (error) {
      failed(error);
    }
  };
  const serverUnavailable = () => Object.assign(new Error('server unavailable'), { returnCode: 3 as const });
  return {
    preConnect: (client, packet, done) => once('preConnect', client?.id, done, (d) => hooks.preConnect(client, packet, d), (d) => d(serverUnavailable(), false)),
    authenticate: (client, username, password, done) =>
      once('authenticate', client?.id, done, (d) => hooks.authenticate(client, username, password, d), (d) => d(serverUnavailable(), false)),
    authorizePublish: (client, packet, done) => once('authorizePublish', client?.id, done, (d) => hooks.authorizePublish(client, packet, d), (d) => d(new Error('the broker could not check this publish'))),
    authorizeSubscribe: (client, subscription, done) =>
      once('authorizeSubscribe', client?.id, done, (d) => hooks.authorizeSubscribe(client, subscription, d), (d) => d(null, null)),
    authorizeForward: (client, packet) => {
      try {
        return hooks.authorizeForward(client, packet);
      } catch (error) {
        fault('authorizeForward', client?.id, error);
        return null;
      }
    },
  };
}

import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, Inbox, subscribe } from './mqtt';
import { brokerReady, spawnMqlive, type Spawned } from './processes';

export interface WatchedBroker {
  broker: Spawned;
  ready: ReadyEvent;
  /** What the watcher, subscribed to `filters` and barrier/#, has received. */
  inbox: Inbox;
  /** A client ended after the tests. */
  keep<C extends { end(force?: boolean): unknown }>(client: C): C;
  /**
   * Publishes a marker from an innocent client and waits for the watcher to get it: whatever was acknowledged
   * before it has been routed, so anything the watcher has not got by then is not coming.
   */
  barrier(name: string): Promise<void>;
}

/**
 * For a test file that attacks one compiled broker (`mqlive broker ARGS`, JSON logs) while a watcher, subscribed
 * since the start, shows what got through. Started before the tests, stopped after them.
 */
export function watchedBroker(args: string[], filters: string[]): WatchedBroker {
  const open: { end(force?: boolean): unknown }[] = [];
  const env = {
    keep: <C extends { end(force?: boolean): unknown }>(client: C) => (open.push(client), client),
    async barrier(name: string) {
      const innocent = env.keep(await connect(env.ready.mqtt, { clientId: `innocent-${name}`.slice(0, 64) }));
      await innocent.publishAsync(`barrier/${name}`, 'after', { qos: 1 });
      await env.inbox.waitFor((m) => m.topic === `barrier/${name}`);
    },
  } as WatchedBroker;
  beforeAll(async () => {
    env.broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', ...args]);
    env.ready = await brokerReady(env.broker, 20_000);
    const watcher: MqttClient = env.keep(await connect(env.ready.ws, { clientId: 'watcher' }));
    env.inbox = new Inbox(watcher);
    await subscribe(watcher, [...filters, 'barrier/#']);
  });
  afterAll(async () => {
    for (const c of open) c.end(true);
    await env.broker?.stop('SIGKILL');
  });
  return env;
}

/**
 * The compiled broker with a durable store of its own (issue 28's tests): a fresh data folder per test, brokers
 * started on it and stopped or killed, and clients whose CONNACK (session present) the test reads. Everything is
 * ended by the test's teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, Inbox, subscribe } from './mqtt';
import { brokerReady, spawnMqlive, type Spawned } from './processes';
import type { Teardown } from './teardown';

export interface StoredBroker {
  process: Spawned;
  ready: ReadyEvent;
  url: string;
}

export function storedBrokers(teardown: Teardown) {
  /** A temporary folder, removed after the test. */
  const tempDir = (prefix = 'mqlive-store-'): string => teardown.add(mkdtempSync(join(tmpdir(), prefix)), (dir) => rmSync(dir, { recursive: true, force: true }));

  const spawnBroker = (dir: string, extra: string[] = []): Spawned =>
    teardown.add(spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--data-dir', dir, ...extra]), (p) => p.stop('SIGKILL'));

  /** A broker on `dir`, once ready (its ready event names that folder). */
  const startBroker = async (dir: string, extra: string[] = []): Promise<StoredBroker> => {
    const process = spawnBroker(dir, extra);
    const ready = await brokerReady(process, 20_000);
    expect(ready.dataDir).toBe(dir);
    return { process, ready, url: ready.mqtt };
  };

  /** Stops (SIGTERM: it exits 0) or kills (SIGKILL) a broker, and waits for it to end. */
  const end = async (broker: StoredBroker, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    broker.process.child.kill(signal);
    expect(await broker.process.exited).toBe(signal === 'SIGTERM' ? 0 : 'SIGKILL');
  };

  const client = async (url: string, options: IClientOptions = {}): Promise<MqttClient> => teardown.add(await connect(url, options), (c) => c.end(true));

  /** Connects with an Inbox attached before the CONNECT goes out (a resent queue is all seen), and its CONNACK. */
  const session = async (url: string, options: IClientOptions): Promise<{ client: MqttClient; inbox: Inbox; connack: IConnackPacket }> => {
    const c = teardown.add(mqtt.connect(url, { reconnectPeriod: 0, ...options }), (x) => x.end(true));
    const inbox = new Inbox(c);
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CONNACK from ${url}`)), 5000);
      c.once('connect', (ack) => (clearTimeout(timer), resolve(ack)));
      c.once('error', (error) => (clearTimeout(timer), reject(error)));
    });
    return { client: c, inbox, connack };
  };

  /** A persistent session that subscribes to `topics` at QoS 1, then disconnects; the broker has seen it go. */
  const leaveSubscribed = async (broker: StoredBroker, options: IClientOptions, topics: string | string[]): Promise<void> => {
    const { client: c } = await session(broker.url, { clean: false, ...options });
    expect((await subscribe(c, topics)).every((qos) => qos === 1)).toBe(true);
    await c.endAsync();
    await broker.process.waitForEvent('client_disconnected', { where: { clientId: options.clientId } });
  };

  return { tempDir, spawnBroker, startBroker, end, client, session, leaveSubscribed };
}

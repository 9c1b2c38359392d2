import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { connect } from './mqtt';
import { brokerReady, spawnMqlive, type Spawned } from './processes';
import { startRedis, type RedisServer } from './redis';
import { makeUsers } from './security';
import type { Role } from '../broker/security/users';

/** One mqlive broker process on the cluster's Redis. */
export interface Instance {
  process: Spawned;
  mqtt: string;
  http: string;
}

/** A CONNECT that got no CONNACK: the connection closed first (it lost a race for its id). */
export const CLOSED_BEFORE_CONNACK = -2;

/**
 * Two broker processes (`{tag}-a`, `{tag}-b`) on one real redis-server with a users file (passwords are
 * NAME-password, test-support/security.ts), and the clients a test opens, ended by `stop()`.
 */
export class TwoInstances {
  readonly open: MqttClient[] = [];

  private constructor(
    /** Replaced when a test restarts Redis on its port. */
    public redis: RedisServer,
    readonly a: Instance,
    readonly b: Instance,
  ) {}

  static async start(tag: string, users: Record<string, Role>, brokerArgs: string[] = []): Promise<TwoInstances> {
    const redis = await startRedis();
    const { file } = await makeUsers(users);
    const instance = async (id: string): Promise<Instance> => {
      const process = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--redis', redis.url, '--id', id, '--users', file, ...brokerArgs]);
      const { mqtt: url, http } = await brokerReady(process, 20_000);
      return { process, mqtt: url, http };
    };
    const [a, b] = await Promise.all([instance(`${tag}-a`), instance(`${tag}-b`)]);
    return new TwoInstances(redis, a, b);
  }

  async stop(): Promise<void> {
    for (const client of this.open) client.end(true);
    await Promise.all([this.a.process.stop('SIGKILL'), this.b.process.stop('SIGKILL')]);
    await this.redis.stop();
  }

  /** A connected client, ended with the others. */
  async kept(url: string, options: IClientOptions): Promise<MqttClient> {
    const client = await connect(url, options);
    this.open.push(client);
    return client;
  }

  /** A CONNECT's outcome: connected (refused null), the CONNACK's refusal code, or CLOSED_BEFORE_CONNACK. */
  attempt(url: string, options: IClientOptions): Promise<{ client: MqttClient; refused: number | null }> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    this.open.push(client);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CONNACK from ${url}`)), 5000);
      client.once('connect', () => (clearTimeout(timer), resolve({ client, refused: null })));
      client.once('error', (error) => (clearTimeout(timer), resolve({ client, refused: (error as { code?: number }).code ?? -1 })));
      client.once('close', () => (clearTimeout(timer), resolve({ client, refused: CLOSED_BEFORE_CONNACK })));
    });
  }
}

/** A user's login (password NAME-password) with more options. */
export const as = (user: string, extra: IClientOptions = {}): IClientOptions => ({ username: user, password: `${user}-password`, ...extra });

/** Resolves with the DISCONNECT reason code (MQTT 5) or null, when the connection closes. */
export function closing(client: MqttClient): Promise<number | null> {
  let reason: number | null = null;
  client.on('disconnect', (packet) => (reason = packet.reasonCode ?? null));
  return new Promise((resolve) => client.once('close', () => resolve(reason)));
}

/**
 * A QoS 1 round trip on `client` (its reply topic): whatever the broker sent it before (a DISCONNECT, a close) has
 * arrived first. Resolves with whether the connection is still open.
 */
export function barrier(client: MqttClient, id: string): Promise<boolean> {
  if (!client.connected) return Promise.resolve(false);
  return new Promise((resolve) => {
    client.once('close', () => resolve(false));
    client.publish(`clients/${id}/messages`, JSON.stringify({ text: 'barrier', ts: Date.now() }), { qos: 1 }, (error) => resolve(!error && client.connected));
  });
}

export async function healthz(i: Instance): Promise<{ status: string; clients: number }> {
  return (await (await fetch(i.http + 'healthz')).json()) as { status: string; clients: number };
}

/** mqlive_clients_connected, summed over its transports (there must be some). */
export async function connectedNow(broker: { http: string }): Promise<number> {
  const text = await (await fetch(broker.http + 'metrics', { signal: AbortSignal.timeout(5000) })).text();
  const counts = [...text.matchAll(/^mqlive_clients_connected\{[^}]*\} (\d+)$/gm)];
  expect(counts.length, 'mqlive_clients_connected in /metrics').toBeGreaterThan(0);
  return counts.reduce((sum, m) => sum + Number(m[1]), 0);
}

import { startMosquitto } from '../test-support/mosquitto';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';

/** A broker under test, in its own process. */
export interface Target {
  name: 'mqlive' | 'mosquitto';
  pid: number;
  tcpUrl: string;
  wsUrl: string;
  httpUrl?: string;
  stop(): Promise<void>;
}

export async function startMqlive(extraArgs: string[] = []): Promise<Target> {
  // saturate publishes as fast as it can: lift the per-client rate limit, as Mosquitto has none by default.
  const args = ['--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--max-publish-rate', '10000000', ...extraArgs];
  const broker: Spawned = spawnMqlive(['broker', ...args]);
  const { mqtt, ws, http } = await brokerReady(broker);
  return {
    name: 'mqlive',
    pid: broker.child.pid!,
    tcpUrl: mqtt,
    wsUrl: ws,
    httpUrl: http,
    stop: async () => void (await broker.stop('SIGTERM')),
  };
}

export async function startMosquittoTarget(): Promise<Target> {
  const m = await startMosquitto();
  return {
    name: 'mosquitto',
    pid: m.process.child.pid!,
    tcpUrl: `mqtt://127.0.0.1:${m.mqttPort}`,
    wsUrl: `ws://127.0.0.1:${m.wsPort}/mqtt`,
    stop: () => m.stop(),
  };
}

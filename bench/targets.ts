import { startMosquitto } from '../test-support/mosquitto';
import { brokerReady, spawnProcess, type Spawned } from '../test-support/processes';

/** A broker under test, in its own process. */
export interface Target {
  /** mqlive, mosquitto, or mqlive-before (an earlier build of mqlive, BENCH_BASELINE). */
  name: string;
  pid: number;
  tcpUrl: string;
  wsUrl: string;
  httpUrl?: string;
  stop(): Promise<void>;
}

/** Node's own flags for the mqlive brokers: a CPU profile each into BENCH_PROFILE's folder when it is set. */
function nodeFlags(): string[] {
  const dir = process.env.BENCH_PROFILE;
  return dir ? ['--cpu-prof', '--cpu-prof-dir', dir] : [];
}

export async function startMqlive(extraArgs: string[] = []): Promise<Target> {
  return startMqliveBuild('mqlive', (args) => spawnProcess(process.execPath, [...nodeFlags(), 'dist/mqlive.js', ...args]), extraArgs);
}

/** An earlier build of mqlive (its compiled dist/mqlive.js), run side by side to measure a change. */
export function mqliveBaseline(entry: string): () => Promise<Target> {
  return () => startMqliveBuild('mqlive-before', (args) => spawnProcess(process.execPath, [...nodeFlags(), entry, ...args]));
}

async function startMqliveBuild(name: string, spawnIt: (args: string[]) => Spawned, extraArgs: string[] = []): Promise<Target> {
  // saturate publishes as fast as it can: lift the per-client rate limit, as Mosquitto has none by default.
  const args = ['--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--max-publish-rate', '10000000', ...extraArgs];
  const broker: Spawned = spawnIt(['broker', ...args]);
  const { mqtt, ws, http } = await brokerReady(broker);
  return {
    name,
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

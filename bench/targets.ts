import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMosquitto } from '../test-support/mosquitto';
import { brokerReady, spawnProcess, type Spawned } from '../test-support/processes';

/** A broker under test, in its own process. */
export interface Target {
  /** mqlive, mqlive-store, mosquitto, or mqlive-before (an earlier build of mqlive, BENCH_BASELINE). */
  name: string;
  /**
   * What the broker keeps its retained messages and sessions in, as each row says (issue 28: the bench says which):
   * none (mqlive --data-dir none), leveldb (mqlive's store, a fresh temp folder), persistence-false or
   * persistence-true (Mosquitto; true writes at its default autosave_interval, 30 minutes, and on shutdown).
   */
  store: string;
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

/** mqlive in memory (`--data-dir none`): the baseline every earlier figure was measured with. */
export async function startMqlive(extraArgs: string[] = []): Promise<Target> {
  return startMqliveBuild('mqlive', 'none', (args) => spawnProcess(process.execPath, [...nodeFlags(), 'dist/mqlive.js', ...args]), ['--data-dir', 'none', ...extraArgs]);
}

/**
 * mqlive with its durable store on, in a fresh data folder of its own (under the system's temp folder, so on the
 * same disk a user's data folder would be on here), removed when the broker has stopped.
 */
export async function startMqliveStored(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'mqlive-bench-store-'));
  try {
    const target = await startMqliveBuild('mqlive-store', 'leveldb', (args) => spawnProcess(process.execPath, [...nodeFlags(), 'dist/mqlive.js', ...args]), ['--data-dir', dir]);
    return {
      ...target,
      stop: async () => {
        await target.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * An earlier build of mqlive (its compiled dist/mqlive.js), run side by side to measure a change. In memory through
 * MQLIVE_DATA_DIR=none rather than the flag: a build from before the store does not know --data-dir (and ignores the variable).
 */
export function mqliveBaseline(entry: string): (extraArgs?: string[]) => Promise<Target> {
  return (extraArgs = []) => startMqliveBuild('mqlive-before', 'none', (args) => spawnProcess(process.execPath, [...nodeFlags(), entry, ...args], { MQLIVE_DATA_DIR: 'none' }), extraArgs);
}

async function startMqliveBuild(name: string, store: string, spawnIt: (args: string[]) => Spawned, extraArgs: string[] = []): Promise<Target> {
  // saturate publishes as fast as it can: lift the per-client rate limit, as Mosquitto has none by default.
  const args = ['--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--max-publish-rate', '10000000', ...extraArgs];
  const broker: Spawned = spawnIt(['broker', ...args]);
  const { mqtt, ws, http } = await brokerReady(broker);
  return {
    name,
    store,
    pid: broker.child.pid!,
    tcpUrl: mqtt,
    wsUrl: ws,
    httpUrl: http,
    stop: async () => void (await broker.stop('SIGTERM')),
  };
}

/**
 * Debian's Mosquitto; with `persistence`, `persistence true` in a temp folder at Mosquitto's default
 * autosave_interval (1800 s): it writes its database on shutdown and every 30 minutes, not before an acknowledgement.
 */
export async function startMosquittoTarget(options: { persistence?: boolean } = {}): Promise<Target> {
  const m = await startMosquitto({ persistence: options.persistence });
  return {
    name: 'mosquitto',
    store: options.persistence ? 'persistence-true' : 'persistence-false',
    pid: m.process.child.pid!,
    tcpUrl: `mqtt://127.0.0.1:${m.mqttPort}`,
    wsUrl: `ws://127.0.0.1:${m.wsPort}/mqtt`,
    stop: () => m.stop(),
  };
}

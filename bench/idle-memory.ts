/**
 * Memory per idle connection of the compiled broker, from N to 3N idle connections (each subscribed to one
 * filter, as the bench's `idle` scenario), measured three ways at each step, after a full garbage collection
 * (bench/heap-probe.mjs): V8's heap in use, memory outside it that JavaScript holds (Buffers), and the process's
 * own resident memory (RssAnon: the heap's pages, and what native code such as libuv's sockets holds). Counting
 * from N, not from 0, leaves out what the first connections cost once (compiled code, tables that grow).
 *
 *   node --import tsx bench/idle-memory.ts [N]      (default 2000; build first: npm run build:dist)
 */
import { brokerReady, spawnProcess, type Spawned } from '../test-support/processes';
import { runLoad, within, type LoadProcess } from './load-process';
import { rssAnonMiB } from './proc-stats';

const N = Math.min(3000, Math.max(100, Number(process.argv[2] ?? 2000)));
const ARGS = ['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--max-connections-per-address', String(4 * N)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Memory {
  heap: number;
  external: number;
  rssAnon: number;
}

async function memory(broker: Spawned, n: number): Promise<Memory> {
  broker.child.kill('SIGUSR2');
  const [line] = await broker.waitForOutput(new RegExp(`^\\{"event":"memory","n":${n},.*\\}$`, 'm'), 30_000);
  const m = JSON.parse(line) as { heapUsed: number; external: number };
  return { heap: m.heapUsed / 1024, external: m.external / 1024, rssAnon: rssAnonMiB(broker.child.pid!) * 1024 };
}

async function measure(transport: 'tcp' | 'ws'): Promise<void> {
  const broker = spawnProcess(process.execPath, ['--expose-gc', 'bench/heap-probe.mjs', ...ARGS]);
  const loads: LoadProcess<unknown>[] = [];
  try {
    const ready = await brokerReady(broker, 30_000);
    const url = transport === 'tcp' ? ready.mqtt : ready.ws;
    const steps: Memory[] = [];
    for (let step = 1; step <= 3; step++) {
      const load = runLoad({ role: 'sub', url, count: N, filter: 'idle/none' });
      loads.push(load);
      const { connected } = await within(load.ready, 120_000, `opening ${N} ${transport} connections`);
      if (connected !== N) throw new Error(`the broker accepted ${connected} of ${N} ${transport} connections`);
      await sleep(3000);
      steps.push(await memory(broker, step));
    }
    const per = (k: keyof Memory, from: number, to: number) => (steps[to]![k] - steps[from]![k]) / ((to - from) * N);
    const line = (k: keyof Memory) => `${per(k, 0, 2).toFixed(2)} KiB (${per(k, 0, 1).toFixed(2)} then ${per(k, 1, 2).toFixed(2)})`;
    console.log(`  ${transport.padEnd(3)} heap ${line('heap')}, outside the heap ${line('external')}, RssAnon ${line('rssAnon')}`);
  } finally {
    for (const load of loads) load.kill();
    await broker.stop('SIGTERM');
  }
}

console.log(`memory per idle connection from ${N} to ${3 * N} connections, after a full GC (${new Date().toISOString()})`);
await measure('tcp');
await measure('ws');

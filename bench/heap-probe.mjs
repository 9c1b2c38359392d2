// The compiled broker (dist/mqlive.js) with one addition, for bench/idle-memory.ts: on SIGUSR2 it collects garbage
// and prints its memory as one JSON line, so a measure of memory per connection is not one of V8's heap steps.
//   node --expose-gc bench/heap-probe.mjs broker ARGS...
let reports = 0;
process.on('SIGUSR2', () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  reports += 1;
  process.stderr.write(`${JSON.stringify({ event: 'memory', n: reports, heapUsed: m.heapUsed, external: m.external })}\n`);
});
await import('../dist/mqlive.js');

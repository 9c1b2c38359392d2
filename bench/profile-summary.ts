/**
 * Where a broker's CPU time went, from a V8 CPU profile (`node --cpu-prof`, or `BENCH_PROFILE=DIR npm run bench`):
 * the share of the sampled time of the functions with the most self time, and of a few groups (garbage
 * collection, socket writes, mqtt-packet's parser, the contract check, ...).
 *
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]      (default 25)
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [TOP]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number };
const top = Math.min(200, Math.max(1, Number(topArg ?? 25)));
if (!Number.isFinite(top)) {
  console.error(`profile-summary: TOP must be a number, not ${topArg} (one profile at a time)`);
  process.exit(2);
}

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const where = (n: ProfileNode) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '');
  // Node's own modules keep their whole name (node:internal/streams/writable); a package's starts at its folder.
  const short = url.startsWith('node:') ? url : url.includes('node_modules/') ? url.slice(url.lastIndexOf('node_modules/') + 13) : url.split('/').slice(-3).join('/');
  return `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
};

const idle = new Set(['(idle)', '(program)']);
let busy = 0;
const self = new Map<string, number>();
for (const [id, count] of hits) {
  const node = byId.get(id)!;
  if (idle.has(node.callFrame.functionName)) continue;
  busy += count;
  const key = where(node);
  self.set(key, (self.get(key) ?? 0) + count);
}

/** Groups by what a function is part of: the first rule whose pattern its name and place match. */
const GROUPS: [string, RegExp][] = [
  ['garbage collection', /^\(garbage collector\)/],
  ['socket writes (writev, writeBuffer, libuv)', /^(writev|writeBuffer|writeUtf8String|writeGeneric|_writeGeneric|handleWriteReq) /],
  ["mqtt-packet's parser and bl", /mqtt-packet\/parser|bl\//],
  ["the debug module's checks (inside mqtt-packet)", /debug\/src\//],
  ['contract check', /admission\/(contract|plain-move)|protocol\/(contract|payloads|ids)|^(isPlainMovePayload|checkMessage|matchContract|validateMove|isMoveTopic|parse|decode) /],
  ['qlobber / mqemitter (matching, dispatch)', /qlobber|mqemitter/],
  ['aedes', /aedes\//],
  ['ws', /ws\/lib/],
  ['node streams', /internal\/streams/],
  ["mqlive's own code (the rest of it)", /(^|[\s/])dist\/|(broker|protocol|cli)\/[\w./-]+\.ts:/],
  ["Node's own JavaScript (buffers, timers, events, ...)", /node:|internal\//],
];
const groups = new Map<string, number>();
for (const [key, count] of self) {
  const group = GROUPS.find(([, pattern]) => pattern.test(key))?.[0] ?? 'other';
  groups.set(group, (groups.get(group) ?? 0) + count);
}

const pct = (n: number) => `${((100 * n) / Math.max(1, busy)).toFixed(1)}%`.padStart(6);
const seconds = (profile.endTime - profile.startTime) / 1e6;
console.log(`${file}: ${seconds.toFixed(1)} s profiled, ${busy} busy samples (${pct(busy)} of busy = 100%)`);
console.log('\ngroups (share of busy samples):');
for (const [group, count] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`  ${pct(count)}  ${group}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [key, count] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(count)}  ${key}`);

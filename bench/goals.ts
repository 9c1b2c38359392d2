/**
 * Issue 20's goals (and issue 27's MQTT 5 rows) against this run: Mosquitto's median, mqlive's, the ratio, the goal and whether it is met,
 * one line per figure, from the unflagged runs (bench/medians.ts). Only figures this run measured are shown.
 * Issue 28's: mqlive with its store on against mqlive in memory (--data-dir none), and the retained-durable case.
 */
import { caseRuns, spreadOf, type Spread } from './medians';
import type { Row } from './run';

interface Goal {
  measure: string;
  scenario: string;
  transport: string;
  key: string;
  /** The settings the goal is stated for: a run with others gets no verdict. */
  settings?: Record<string, number>;
  /** mqlive / Mosquitto must be at most (or at least) this; or mqlive's own figure at most `atMost`. */
  ratioAtMost?: number;
  ratioAtLeast?: number;
  atMost?: number;
  /** Judged on the worst run, not the median: a goal that no run may miss (no loss, every click). */
  everyRun?: boolean;
}

const FANOUT = { subscribers: 50, rate: 1000 };
const LOAD200 = { subscribers: 200, rate: 1000 };
const GOALS: Goal[] = [
  { measure: 'fanout 50 @ 1,000/s, TCP: broker CPU per delivered message, µs', scenario: 'fanout', transport: 'tcp', key: 'cpuPerMsgUs', settings: FANOUT, ratioAtMost: 1.2 },
  { measure: 'fanout 50 @ 1,000/s, WebSocket: broker CPU per delivered message, µs', scenario: 'fanout', transport: 'ws', key: 'cpuPerMsgUs', settings: FANOUT, ratioAtMost: 1.2 },
  { measure: 'fanout, TCP: lost %, worst run', scenario: 'fanout', transport: 'tcp', key: 'lossPct', settings: FANOUT, atMost: 0, everyRun: true },
  { measure: 'fanout, WebSocket: lost %, worst run', scenario: 'fanout', transport: 'ws', key: 'lossPct', settings: FANOUT, atMost: 0, everyRun: true },
  { measure: 'fanout, TCP: p99 latency, ms', scenario: 'fanout', transport: 'tcp', key: 'p99ms', settings: FANOUT, ratioAtMost: 1 },
  { measure: 'fanout, WebSocket: p99 latency, ms', scenario: 'fanout', transport: 'ws', key: 'p99ms', settings: FANOUT, ratioAtMost: 1 },
  { measure: 'saturate, TCP: delivered / s', scenario: 'saturate', transport: 'tcp', key: 'deliveredPerSec', ratioAtLeast: 0.9 },
  { measure: 'saturate, WebSocket: delivered / s', scenario: 'saturate', transport: 'ws', key: 'deliveredPerSec', ratioAtLeast: 1 },
  // Issue 27: the same load with every client speaking MQTT 5 (Mosquitto too), held to the 3.1.1 rows' goals.
  { measure: 'fanout 50 @ 1,000/s, TCP, MQTT 5: broker CPU per delivered message, µs', scenario: 'fanout-v5', transport: 'tcp', key: 'cpuPerMsgUs', settings: FANOUT, ratioAtMost: 1.2 },
  { measure: 'fanout, TCP, MQTT 5: lost %, worst run', scenario: 'fanout-v5', transport: 'tcp', key: 'lossPct', settings: FANOUT, atMost: 0, everyRun: true },
  { measure: 'saturate, TCP, MQTT 5: delivered / s', scenario: 'saturate-v5', transport: 'tcp', key: 'deliveredPerSec', ratioAtLeast: 0.9 },
  // 60 MB = 57.2 MiB
  { measure: 'fanout, TCP: broker RSS at the end, MiB', scenario: 'fanout', transport: 'tcp', key: 'rssEndMiB', settings: FANOUT, atMost: 57.2 },
  { measure: 'fanout, WebSocket: broker RSS at the end, MiB', scenario: 'fanout', transport: 'ws', key: 'rssEndMiB', settings: FANOUT, atMost: 57.2 },
  { measure: 'idle, TCP: RSS per connection, KiB', scenario: 'idle', transport: 'tcp', key: 'kibPerConnection', atMost: 8 },
  { measure: 'idle, WebSocket: RSS per connection, KiB', scenario: 'idle', transport: 'ws', key: 'kibPerConnection', atMost: 12 },
  { measure: 'load200, 200 WebSocket viewers: p99 latency, ms', scenario: 'load200', transport: 'ws', key: 'p99ms', settings: LOAD200, atMost: 100 },
  { measure: 'load200: lost %, worst run', scenario: 'load200', transport: 'ws', key: 'lossPct', settings: LOAD200, atMost: 0, everyRun: true },
  { measure: 'load200: clicks the worst viewer missed, worst run', scenario: 'load200', transport: 'ws', key: 'clicksMissed', settings: LOAD200, atMost: 0, everyRun: true },
];

// Issue 28: QoS 0 fanout never touches the store, so turning it on may cost at most 10%.
const STORE_GOALS: Goal[] = [
  { measure: 'fanout 50 @ 1,000/s, TCP: broker CPU per delivered message, µs', scenario: 'fanout', transport: 'tcp', key: 'cpuPerMsgUs', settings: FANOUT, ratioAtMost: 1.1 },
  { measure: 'fanout 50 @ 1,000/s, WebSocket: broker CPU per delivered message, µs', scenario: 'fanout', transport: 'ws', key: 'cpuPerMsgUs', settings: FANOUT, ratioAtMost: 1.1 },
  { measure: 'fanout, TCP: p99 latency, ms', scenario: 'fanout', transport: 'tcp', key: 'p99ms', settings: FANOUT, ratioAtMost: 1.1 },
  { measure: 'fanout, WebSocket: p99 latency, ms', scenario: 'fanout', transport: 'ws', key: 'p99ms', settings: FANOUT, ratioAtMost: 1.1 },
  { measure: 'fanout, TCP: lost %, worst run', scenario: 'fanout', transport: 'tcp', key: 'lossPct', settings: FANOUT, atMost: 0, everyRun: true },
  { measure: 'fanout, WebSocket: lost %, worst run', scenario: 'fanout', transport: 'ws', key: 'lossPct', settings: FANOUT, atMost: 0, everyRun: true },
];

const round = (n: number) => (Math.abs(n) >= 100 ? Math.round(n) : Number(n.toFixed(2)));
const figure = (s: Spread | null, clean: number) => (s ? `${round(s.median)} (${round(s.min)}-${round(s.max)})${clean === 0 ? ' ALL FLAGGED' : ''}` : '-');

/** The goals table as Markdown lines; empty when this run measured none of the figures. */
export function goalsTable(rows: Row[]): string[] {
  return judged(rows, GOALS, 'mqlive', 'mosquitto', ['Mosquitto', 'mqlive']);
}

/** Issue 28's goal: mqlive with its store on (mqlive-store) against mqlive in memory, in the same run. */
export function storeGoalsTable(rows: Row[]): string[] {
  return judged(rows, STORE_GOALS, 'mqlive-store', 'mqlive', ['--data-dir none', 'store on']);
}

function judged(rows: Row[], goals: Goal[], broker: string, peerBroker: string, titles: [peer: string, mine: string]): string[] {
  const lines: string[] = [];
  for (const g of goals) {
    const mine = caseRuns(rows, broker, g.scenario, g.transport);
    const a = spreadOf(mine.used, g.key);
    if (!a) {
      if (mine.failed > 0) lines.push(`| ${g.measure} | | FAILED (${mine.failed} runs) | | | NOT MET |`);
      continue;
    }
    const peer = caseRuns(rows, peerBroker, g.scenario, g.transport);
    const b = spreadOf(peer.used, g.key);
    const ratio = b && b.median !== 0 ? a.median / b.median : null;
    const value = g.everyRun ? a.max : a.median;
    let goal: string;
    let met: boolean | null;
    if (g.atMost !== undefined) {
      goal = `≤ ${g.atMost}`;
      met = value <= g.atMost;
    } else {
      goal = g.ratioAtMost !== undefined ? `≤ ${g.ratioAtMost}x` : `≥ ${g.ratioAtLeast}x`;
      met = ratio === null ? null : g.ratioAtMost !== undefined ? ratio <= g.ratioAtMost : ratio >= g.ratioAtLeast!;
    }
    const otherSettings = Object.entries(g.settings ?? {}).some(([k, v]) => mine.used.some((r) => r[k] !== v));
    let verdict: string;
    if (otherSettings) verdict = "- (not the goal's settings)";
    else if (mine.failed > 0) verdict = `NOT MET (${mine.failed} runs failed)`;
    else if (met === null) verdict = '-';
    // A comparison with flagged runs (mqlive's, or a peer's whose every run was flagged) is not a clean verdict.
    else if (mine.clean === 0 || (ratio !== null && peer.clean === 0)) verdict = `${met ? 'met' : 'not met'} (flagged runs)`;
    else verdict = met ? 'met' : 'NOT MET';
    lines.push(`| ${g.measure} | ${figure(b, peer.clean)} | ${figure(a, mine.clean)} | ${ratio === null ? '-' : `${ratio.toFixed(2)}x`} | ${goal} | ${verdict} |`);
  }
  if (lines.length === 0) return [];
  return [`| measure (medians of unflagged runs, min-max) | ${titles[0]} | ${titles[1]} | ratio | goal | verdict |`, '|---|---|---|---|---|---|', ...lines];
}

/**
 * retained-durable, one line per broker: publish-to-PUBACK p50 and p99, broker CPU per acknowledged update, the
 * publisher's achieved rate and the updates never acknowledged (medians of unflagged runs, min-max). No goal: the
 * issue asks for the figures beside Mosquitto's, which does not write before it acknowledges.
 */
export function retainedTable(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const broker of ['mqlive-store', 'mqlive', 'mosquitto']) {
    const runs = caseRuns(rows, broker, 'retained-durable', 'tcp');
    if (runs.all === 0 && runs.failed === 0) continue;
    const store = runs.used[0]?.store ?? '';
    const cell = (key: string) => figure(spreadOf(runs.used, key), runs.clean);
    const failed = runs.failed > 0 ? `, ${runs.failed} failed` : '';
    lines.push(`| ${broker} | ${store} | ${runs.clean} of ${runs.all}${failed} | ${cell('p50ms')} | ${cell('p99ms')} | ${cell('cpuPerMsgUs')} | ${cell('achievedRate')} | ${cell('unacked')} |`);
  }
  if (lines.length === 0) return [];
  return ['| broker | store | unflagged runs | p50 to PUBACK, ms | p99 to PUBACK, ms | broker CPU per update, µs | publisher rate, /s | unacknowledged |', '|---|---|---|---|---|---|---|---|', ...lines];
}

/**
 * Issue 31's cluster-connect, one line per case in the order they ran: connects per second, CONNECT to CONNACK p50
 * and p99, the system's CPU per client (brokers and Redis) and the generator's CPU (medians of unflagged runs,
 * min-max). Two instances are also given as a ratio of connects per second to one instance of the same build on
 * the same Redis: what spreading the clients gains.
 */
export function connectTable(rows: Row[]): string[] {
  const labels = [...new Set(rows.filter((r) => r.scenario === 'cluster-connect').map((r) => r.broker))];
  const lines: string[] = [];
  for (const label of labels) {
    const runs = caseRuns(rows, label, 'cluster-connect', 'tcp');
    const cell = (key: string) => figure(spreadOf(runs.used, key), runs.clean);
    const failed = runs.failed > 0 ? `, ${runs.failed} failed` : '';
    const one = label.endsWith(' two instances on Redis') ? spreadOf(caseRuns(rows, label.replace(' two instances on Redis', ' one instance on Redis'), 'cluster-connect', 'tcp').used, 'connectsPerSec') : null;
    const mine = spreadOf(runs.used, 'connectsPerSec');
    const ratio = one && mine && one.median ? `${(mine.median / one.median).toFixed(2)}x` : '-';
    lines.push(`| ${label} | ${runs.used[0]?.store ?? ''} | ${runs.clean} of ${runs.all}${failed} | ${cell('connectsPerSec')} | ${ratio} | ${cell('p50ms')} | ${cell('p99ms')} | ${cell('cpuPerConnectUs')} | ${cell('genCpuPct')} |`);
  }
  if (lines.length === 0) return [];
  return ['| case | store | unflagged runs | connects / s | against one instance | p50 CONNECT→CONNACK, ms | p99, ms | system CPU per client, µs | generator CPU, % of a core |', '|---|---|---|---|---|---|---|---|---|', ...lines];
}

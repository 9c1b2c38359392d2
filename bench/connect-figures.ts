/** The cluster-connect scenario's figures from its generator processes' reports (bench/load.ts, role connect). */
import { percentile } from './clock';
import type { ConnectResult } from './load';

export interface ConnectFigures {
  connected: number;
  /** From the first CONNECT any process sent to the last CONNACK any received, ms. */
  windowMs: number;
  connectsPerSec: number;
  /** CONNECT to CONNACK over every client of every process, ms. */
  p50ms: number;
  p95ms: number;
  p99ms: number;
  maxMs: number;
  /** The generator's CPU, all its processes together, over its own span (from "go" to the last CONNACK), in % of one core. */
  genCpuPct: number;
  /** The busiest generator process over its own span, in % of one core. */
  genCpuMaxPct: number;
}

export function connectFigures(results: ConnectResult[]): ConnectFigures {
  const latencies = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const connected = results.reduce((sum, r) => sum + r.connected, 0);
  const firstConnect = Math.min(...results.map((r) => r.firstConnectAt));
  const lastConnack = Math.max(...results.map((r) => r.lastConnackAt));
  const windowMs = lastConnack - firstConnect;
  const genSpanMs = lastConnack - Math.min(...results.map((r) => r.startedAt));
  const pct = (cpuSeconds: number, ms: number) => (ms > 0 ? (100 * cpuSeconds * 1000) / ms : NaN);
  return {
    connected,
    windowMs,
    connectsPerSec: connected > 0 && windowMs > 0 ? (1000 * connected) / windowMs : NaN,
    p50ms: percentile(latencies, 50),
    p95ms: percentile(latencies, 95),
    p99ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? NaN,
    genCpuPct: pct(
      results.reduce((sum, r) => sum + r.cpuSeconds, 0),
      genSpanMs,
    ),
    genCpuMaxPct: Math.max(...results.map((r) => pct(r.cpuSeconds, r.lastConnackAt - r.startedAt))),
  };
}

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../test-support/chromium';
import { percentile } from './clock';
import type { PubResult } from './load';
import type { Row } from './run';
import type { Target } from './targets';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The built viewer in headless Chromium under a stream of moves: frame times, long tasks, heap. */
export async function runViewerBench(target: Target, o: { rate: number; seconds: number; warmup: number }): Promise<Row> {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    // Strings, not functions: tsx's transform adds helpers to functions that do not exist in the page.
    await page.addInitScript(`
      const bench = { frames: [], longTasks: [], last: 0 };
      window.__bench = bench;
      const loop = (t) => {
        if (bench.last) bench.frames.push(t - bench.last);
        bench.last = t;
        requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
      new PerformanceObserver((list) => list.getEntries().forEach((e) => bench.longTasks.push(e.duration))).observe({ type: 'longtask', buffered: true });
    `);
    await page.goto(target.httpUrl!);
    await page.getByTestId('connection-state').filter({ hasText: /^connected$/ }).waitFor({ timeout: 15_000 });

    const job = { role: 'pub', url: target.tcpUrl, rate: o.rate, warmupSeconds: o.warmup, seconds: o.seconds, clickRate: 10 };
    const pub = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), `${ROOT}bench/load.ts`, JSON.stringify(job)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const done = new Promise<PubResult>((resolve) =>
      createInterface({ input: pub.stdout! }).on('line', (l) => {
        const value = JSON.parse(l);
        if (!value.ready) resolve(value);
      }),
    );
    await new Promise((r) => setTimeout(r, o.warmup * 1000));
    const heapStart = (await page.evaluate('performance.memory.usedJSHeapSize')) as number;
    await page.evaluate('window.__bench.frames.length = 0; window.__bench.longTasks.length = 0');
    await done;
    const m = (await page.evaluate('({ frames: window.__bench.frames.slice(), longTasks: window.__bench.longTasks.slice(), heap: performance.memory.usedJSHeapSize })')) as {
      frames: number[];
      longTasks: number[];
      heap: number;
    };
    const moveRow = await page.locator('[data-topic="devices/bench/mouse/move"]').first().textContent();
    const frames = m.frames.sort((a, b) => a - b);
    return {
      scenario: 'viewer',
      broker: target.name,
      transport: 'ws',
      rate: o.rate,
      seconds: o.seconds,
      frames: frames.length,
      frameP50ms: Number(percentile(frames, 50).toFixed(1)),
      frameP95ms: Number(percentile(frames, 95).toFixed(1)),
      frameMaxMs: Number((frames.at(-1) ?? NaN).toFixed(1)),
      longTasks: m.longTasks.length,
      longTaskTotalMs: Math.round(m.longTasks.reduce((a, b) => a + b, 0)),
      heapStartMiB: Number((heapStart / 2 ** 20).toFixed(1)),
      heapEndMiB: Number((m.heap / 2 ** 20).toFixed(1)),
      pageMessages: Number(moveRow?.match(/(\d+) msg/)?.[1] ?? NaN),
    };
  } finally {
    await browser.close();
  }
}

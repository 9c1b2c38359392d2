import mqtt from 'mqtt';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launchChromium } from '../test-support/chromium';
import { percentile } from './clock';
import type { PubResult } from './load';
import { runLoad } from './load-process';
import type { Row } from './run';
import type { Target } from './targets';

/** The `#` scenario's other traffic: this many topics outside devices/, each at OTHER_HZ. */
const OTHER_TOPICS = 50;
const OTHER_HZ = 10;

/** Publishes OTHER_TOPICS sensor-like JSON topics at OTHER_HZ each until stopped. */
async function startOtherTopics(url: string): Promise<() => void> {
  const client = await mqtt.connectAsync(url, { clientId: `bench-others-${process.pid}` });
  let n = 0;
  const timer = setInterval(() => {
    n += 1;
    for (let i = 0; i < OTHER_TOPICS; i++) client.publish(`bench/sensors/s${i}/reading`, JSON.stringify({ value: Math.sin(n / 10 + i) * 10 + 20, humidity: 40 + (n % 7), seq: n }));
  }, 1000 / OTHER_HZ);
  return () => {
    clearInterval(timer);
    client.end(true);
  };
}

type Session = Awaited<ReturnType<ReturnType<Page['context']>['newCDPSession']>>;

/**
 * Live JS heap (after a garbage collection) of the page and of its workers, over the DevTools protocol: the
 * page's own session, and each worker through Target messages (Playwright gives no session for a worker).
 */
async function heaps(cdp: Session, workers: string[]): Promise<{ page: number; workers: number }> {
  await cdp.send('HeapProfiler.collectGarbage');
  const page = (await cdp.send('Runtime.getHeapUsage')).usedSize;
  let total = 0;
  for (const sessionId of workers) {
    const ask = (id: number, method: string) =>
      new Promise<{ usedSize?: number }>((resolve) => {
        const onMessage = (event: { sessionId: string; message: string }) => {
          const reply = JSON.parse(event.message) as { id: number; result: { usedSize?: number } };
          if (event.sessionId !== sessionId || reply.id !== id) return;
          cdp.off('Target.receivedMessageFromTarget', onMessage);
          resolve(reply.result);
        };
        cdp.on('Target.receivedMessageFromTarget', onMessage);
        void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method }) });
      });
    await ask(1, 'HeapProfiler.collectGarbage');
    total += (await ask(2, 'Runtime.getHeapUsage')).usedSize ?? 0;
  }
  return { page, workers: total };
}

/** The 1-minute load average: whether the machine was quiet when a run started. */
function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/**
 * The built viewer in headless Chromium under a stream of moves (and with `everything`, subscribed to `#`
 * with OTHER_TOPICS other topics at OTHER_HZ): frame times, long tasks, heap, and how busy the page's main
 * thread was in each second (Chromium's own TaskDuration, read over the DevTools protocol once a second).
 */
export async function runViewerBench(target: Target, o: { rate: number; seconds: number; warmup: number; everything?: boolean }): Promise<Row> {
  const browser = await launchChromium();
  let stopOthers = () => {};
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
    if (o.everything) {
      await page.getByLabel('Filter to subscribe to').fill('#');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page.locator('[data-testid="subscription"][data-filter="#"]').waitFor({ timeout: 15_000 });
      stopOthers = await startOtherTopics(target.tcpUrl);
    }
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const workers: string[] = [];
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type === 'worker') workers.push(e.sessionId);
    });
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    const taskSeconds = async () => ((await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration')?.value ?? NaN) as number;
    const loadAtStart = loadAverage();

    const done = runLoad<PubResult>({ role: 'pub', url: target.tcpUrl, rate: o.rate, warmupSeconds: o.warmup, seconds: o.seconds, clickRate: 10 }).result;
    await new Promise((r) => setTimeout(r, o.warmup * 1000));
    const heapStart = await heaps(cdp, workers);
    await page.evaluate('window.__bench.frames.length = 0; window.__bench.longTasks.length = 0');
    // Main-thread busy time, one sample per second of the measured window.
    const busy: number[] = [];
    let finished = false;
    const end = () => (finished = true);
    void done.then(end, end);
    let lastTask = await taskSeconds();
    let lastAt = performance.now();
    for (let i = 0; i < o.seconds + 30 && !finished; i++) {
      await Promise.race([new Promise((r) => setTimeout(r, 1000)), done]);
      const task = await taskSeconds();
      const at = performance.now();
      if (at - lastAt > 500) busy.push((100 * (task - lastTask) * 1000) / (at - lastAt));
      lastTask = task;
      lastAt = at;
    }
    await done;
    const m = (await page.evaluate('({ frames: window.__bench.frames.slice(), longTasks: window.__bench.longTasks.slice() })')) as { frames: number[]; longTasks: number[] };
    const heapEnd = await heaps(cdp, workers);
    // The explorer shows counts a few times a second: give it a moment to show the last ones.
    const published = await done;
    // The tree renders only rows in view, and this one is in a closed branch: the search shows it.
    await page.getByLabel('Search topics').fill('devices/bench/mouse/move');
    const shownCount = async () => Number((await page.locator('[data-topic="devices/bench/mouse/move"]').first().textContent())?.match(/(\d+) msg/)?.[1] ?? NaN);
    for (let i = 0; i < 30 && (await shownCount()) < published.sent; i++) await new Promise((r) => setTimeout(r, 100));
    const frames = m.frames.sort((a, b) => a - b);
    busy.sort((a, b) => a - b);
    return {
      scenario: o.everything ? 'viewer-all' : 'viewer',
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
      mainBusyP50Pct: Number(percentile(busy, 50).toFixed(1)),
      mainBusyMaxPct: Number((busy.at(-1) ?? NaN).toFixed(1)),
      loadAverageAtStart: loadAtStart,
      heapStartMiB: Number((heapStart.page / 2 ** 20).toFixed(1)),
      heapEndMiB: Number((heapEnd.page / 2 ** 20).toFixed(1)),
      workerHeapStartMiB: Number((heapStart.workers / 2 ** 20).toFixed(1)),
      workerHeapEndMiB: Number((heapEnd.workers / 2 ** 20).toFixed(1)),
      pageMessages: await shownCount(),
    };
  } finally {
    stopOthers();
    await browser.close();
  }
}

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ScreenSize } from '../../protocol';
import { mapUiohookEvent, type UiohookMouseEvent } from '../mouse-mapping';
import { probeDisplay } from '../x11-display';
import type { MouseSource, SourceHandlers } from './source';

// From source (tsx) the child is the .ts file beside this one; compiled, it is dist/uiohook-child.js beside
// the chunk this code was bundled into. Only the source form needs a TypeScript loader.
const COMPILED = !import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(COMPILED ? './uiohook-child.js' : './uiohook-child.ts', import.meta.url));
const READY_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

type ChildMessage = UiohookMouseEvent | { type: 'ready' };

/**
 * Real system-wide mouse capture with uiohook-napi, in a child process. If the child dies (the X server went
 * away, say) it is restarted with backoff once the display answers again; the MQTT side never notices.
 */
export class UiohookSource implements MouseSource {
  readonly kind = 'uiohook' as const;
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;

  private constructor(
    readonly display: string,
    public screen: ScreenSize,
  ) {}

  /** Checks the display first: rejects with a DisplayError that says why when there is none. */
  static async open(display = process.env.DISPLAY): Promise<UiohookSource> {
    const screen = await probeDisplay(display);
    return new UiohookSource(display!, screen);
  }

  async start(handlers: SourceHandlers): Promise<void> {
    await this.spawnChild(handlers);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.disconnect(); // the child stops the hook and exits
    const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(kill);
  }

  private spawnChild(handlers: SourceHandlers): Promise<void> {
    return new Promise((resolve, reject) => {
      let ready = false;
      let stderr = '';
      const child = fork(CHILD, [], {
        execArgv: COMPILED ? [] : ['--import', import.meta.resolve('tsx')], // resolved here, so any working directory will do
        env: { ...process.env, DISPLAY: this.display },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      this.child = child;
      child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const readyTimer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the uiohook capture process did not start within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);

      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          ready = true;
          this.failures = 0;
          clearTimeout(readyTimer);
          return resolve();
        }
        const input = mapUiohookEvent(message);
        if (input) handlers.onInput(input);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(readyTimer);
        if (this.stopped) return;
        const why = describeExit(code, signal, stderr);
        if (!ready) return reject(new Error(`uiohook capture could not start: ${why}`));
        this.scheduleRestart(handlers, `uiohook capture stopped (${why})`);
      });
    });
  }

  private scheduleRestart(handlers: SourceHandlers, problem: string): void {
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.failures);
    this.failures += 1;
    handlers.onCaptureState(false, `${problem}; trying again in ${Math.round(delay / 1000)} s`);
    this.restartTimer = setTimeout(async () => {
      if (this.stopped) return;
      try {
        this.screen = await probeDisplay(this.display);
        await this.spawnChild(handlers);
        handlers.onCaptureState(true, 'uiohook capture is running again');
      } catch (error) {
        this.scheduleRestart(handlers, (error as Error).message);
      }
    }, delay);
  }
}

function describeExit(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const lastLine = stderr.trim().split('\n').filter(Boolean).pop();
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  if (/libX\w+\.so/.test(stderr)) {
    return `${how}; a shared X library is missing (on Debian: apt-get install libx11-6 libxtst6 libxrandr2 libxt6): ${lastLine}`;
  }
  return lastLine ? `${how}: ${lastLine}` : how;
}

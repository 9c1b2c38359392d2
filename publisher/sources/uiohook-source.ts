import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ScreenSize } from '../../protocol';
import { backoffDelay } from './backoff';
import { isMacPermissionRefusal, isWaylandSession, MAC_PERMISSION_LINE, platformScreen, WAYLAND_LINE } from './platform';
import type { MouseSource, SourceContext, SourceEntry, SourceHandlers } from './source';
import { ADDON_CHECK_ENV, ADDON_LOAD_FAILED, mapUiohookEvent, type UiohookMouseEvent } from './uiohook-mapping';

// From source (tsx) the child is the .ts file beside this one; compiled, it is dist/uiohook-child.js beside
// the chunk this code was bundled into. Only the source form needs a TypeScript loader.
const COMPILED = !import.meta.url.endsWith('.ts');
const CHILD = fileURLToPath(new URL(COMPILED ? './uiohook-child.js' : './uiohook-child.ts', import.meta.url));
const READY_TIMEOUT_MS = 10_000;
/** macOS without the permission starts the hook and then delivers nothing: this long without an event, say why. */
const SILENT_MS = 15_000;
/** uiohook-napi ships builds for these. */
const PLATFORMS: readonly string[] = ['linux', 'darwin', 'win32'];

export const uiohookSource: SourceEntry = {
  name: 'uiohook',
  description: 'system-wide capture with uiohook-napi: Linux X11 (and XWayland), macOS, Windows',
  auto: true,
  open: (context) => UiohookSource.open(context),
};

type ChildMessage = UiohookMouseEvent | { type: 'ready' };

export interface UiohookSettings {
  platform: NodeJS.Platform;
  /** The X display (Linux only): probed again before each restart. */
  display?: string;
  screen: ScreenSize | null;
  screenFrom?: string;
  /** The hook's process, replaceable in tests. */
  childModule?: string;
  silentMs?: number;
}

/**
 * Real system-wide mouse capture with uiohook-napi, in a child process. If the child dies (the X server went
 * away, say) it is restarted with backoff once the display answers again; the MQTT side never notices.
 */
export class UiohookSource implements MouseSource {
  readonly kind = 'uiohook';
  private child: ChildProcess | undefined;
  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private silentTimer: ReturnType<typeof setTimeout> | undefined;
  private failures = 0;
  /** The silence on macOS was reported as a capture problem: the first event clears it. */
  private silenceReported = false;

  constructor(
    private readonly settings: UiohookSettings,
    private readonly context: Pick<SourceContext, 'probeX11'>,
  ) {}

  get screen(): ScreenSize | null {
    return this.settings.screen;
  }

  get screenFrom(): string | undefined {
    return this.settings.screenFrom;
  }

  /**
   * Linux: checks the X display first (rejects with a DisplayError that says why when there is none), and says
   * what XWayland cannot see in a Wayland session. macOS and Windows need no display check: the screen size
   * comes from the platform, or is null with a note.
   */
  static async open(context: SourceContext, checkAddon: () => Promise<void> = checkAddonLoads): Promise<UiohookSource> {
    const { platform, env } = context;
    if (!PLATFORMS.includes(platform)) throw new Error(`uiohook-napi has no build for ${platform}`);
    let settings: UiohookSettings;
    if (platform === 'darwin' || platform === 'win32') {
      const { screen, note } = await platformScreen(platform, context.run);
      if (note) context.say(note);
      settings = { platform, screen, screenFrom: screen ? 'platform' : undefined };
    } else {
      if (isWaylandSession(env)) context.say(WAYLAND_LINE);
      const screen = await context.probeX11(env.DISPLAY);
      settings = { platform, display: env.DISPLAY, screen, screenFrom: 'x11' };
    }
    await checkAddon();
    return new UiohookSource(settings, context);
  }

  async start(handlers: SourceHandlers): Promise<void> {
    try {
      await this.spawnChild(handlers);
    } catch (error) {
      // macOS refusing the hook is a setting the person can change while the publisher runs: keep trying.
      if (this.settings.platform !== 'darwin' || !isMacPermissionRefusal((error as Error).message)) throw error;
      this.scheduleRestart(handlers, MAC_PERMISSION_LINE);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.silentTimer);
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
      const env = this.settings.display === undefined ? process.env : { ...process.env, DISPLAY: this.settings.display };
      const { child, stderr } = forkCaptureChild(this.settings.childModule ?? CHILD, env);
      this.child = child;
      const readyTimer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the uiohook capture process did not start within ${READY_TIMEOUT_MS} ms`));
      }, READY_TIMEOUT_MS);

      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          ready = true;
          this.failures = 0;
          clearTimeout(readyTimer);
          this.watchSilence(handlers);
          return resolve();
        }
        clearTimeout(this.silentTimer);
        if (this.silenceReported) {
          this.silenceReported = false;
          handlers.onCaptureState(true, 'uiohook: mouse events arrive; capture runs');
        }
        const input = mapUiohookEvent(message);
        if (input) handlers.onInput(input);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(readyTimer);
        clearTimeout(this.silentTimer);
        if (this.stopped) return;
        const why = describeExit(code, signal, stderr());
        if (!ready) return reject(new Error(`uiohook capture could not start: ${why}`));
        this.scheduleRestart(handlers, `uiohook capture stopped (${why})`);
      });
    });
  }

  /** macOS only: a hook that has delivered nothing for a while is most likely held back by the privacy settings. */
  private watchSilence(handlers: SourceHandlers): void {
    if (this.settings.platform !== 'darwin') return;
    this.silentTimer = setTimeout(() => {
      if (this.stopped) return;
      this.silenceReported = true;
      const seconds = Math.round((this.settings.silentMs ?? SILENT_MS) / 1000);
      handlers.onCaptureState(false, `No mouse event in ${seconds} s; if the mouse moved, ${MAC_PERMISSION_LINE.charAt(0).toLowerCase()}${MAC_PERMISSION_LINE.slice(1)}`);
    }, this.settings.silentMs ?? SILENT_MS);
  }

  private scheduleRestart(handlers: SourceHandlers, problem: string): void {
    const delay = backoffDelay(this.failures);
    this.failures += 1;
    handlers.onCaptureState(false, `${problem}; trying again in ${Math.round(delay / 1000)} s`);
    this.restartTimer = setTimeout(async () => {
      if (this.stopped) return;
      try {
        if (this.settings.platform === 'linux') {
          this.settings.screen = await this.context.probeX11(this.settings.display);
        }
        await this.spawnChild(handlers);
        handlers.onCaptureState(true, 'uiohook capture is running again');
      } catch (error) {
        const message = (error as Error).message;
        this.scheduleRestart(handlers, this.settings.platform === 'darwin' && isMacPermissionRefusal(message) ? MAC_PERMISSION_LINE : message);
      }
    }, delay);
  }
}

/**
 * Loads uiohook-napi in a throwaway capture child (the hook is not started), so that `auto` can move on to the
 * next source, and `--source uiohook` can say why, when the addon has no build for this machine.
 */
export function checkAddonLoads(childModule: string = CHILD, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const { child, stderr } = forkCaptureChild(childModule, { ...env, [ADDON_CHECK_ENV]: '1' });
    const timer = setTimeout(() => child.kill('SIGKILL'), READY_TIMEOUT_MS);
    let loaded = false;
    child.once('message', () => {
      loaded = true;
      child.kill('SIGKILL');
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (loaded) return resolve();
      const reason = code === ADDON_LOAD_FAILED ? stderr().trim() : describeExit(code, signal, stderr());
      reject(new Error(`uiohook-napi does not load on this machine (${process.platform}-${process.arch}): ${reason}`));
    });
  });
}

/** Starts the capture child (through tsx when it is the .ts source) and keeps the end of what it says on stderr. */
function forkCaptureChild(childModule: string, env: NodeJS.ProcessEnv): { child: ChildProcess; stderr: () => string } {
  const child = fork(childModule, [], {
    // resolved here, so any working directory will do
    execArgv: childModule.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [],
    env,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-2000)));
  return { child, stderr: () => tail };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null, stderr: string): string {
  const lastLine = stderr.trim().split('\n').filter(Boolean).pop();
  const how = signal ? `killed by ${signal}` : `exit code ${code}`;
  if (/libX\w+\.so/.test(stderr)) {
    return `${how}; a shared X library is missing (on Debian: apt-get install libx11-6 libxtst6 libxrandr2 libxt6): ${lastLine}`;
  }
  if (isMacPermissionRefusal(stderr)) return `${how}: UIOHOOK_ERROR_AXAPI_DISABLED`;
  return lastLine ? `${how}: ${lastLine}` : how;
}

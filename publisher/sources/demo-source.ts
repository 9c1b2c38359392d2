import type { MouseButton, ScreenSize } from '../../protocol';
import type { MouseSource, SourceEntry, SourceHandlers } from './source';

export const demoSource: SourceEntry = {
  name: 'demo',
  description: 'a synthetic mouse, marked source "demo" everywhere (the viewer shows a DEMO badge)',
  auto: true,
  open: async () => new DemoSource(),
};

/** The demo's virtual screen. */
export const DEMO_SCREEN: ScreenSize = { width: 1920, height: 1080 };

const TICK_MS = 1000 / 60;
const BUTTONS: MouseButton[] = ['left', 'left', 'left', 'right', 'middle'];

/**
 * A synthetic mouse for machines without a display: a smooth figure-of-eight path at 60 Hz, a click now and
 * then (press, then release 80 ms later) and a scroll notch now and then. Marked `source: demo` in meta.
 */
export class DemoSource implements MouseSource {
  readonly kind = 'demo';
  readonly screen = DEMO_SCREEN;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly random: () => number = Math.random) {}

  async start({ onInput }: SourceHandlers): Promise<void> {
    const started = Date.now();
    let x = 0;
    let y = 0;
    let tick = 0;
    this.ticker = setInterval(() => {
      const t = (Date.now() - started) / 1000;
      x = Math.round(DEMO_SCREEN.width * (0.5 + 0.4 * Math.sin(t * 0.9)));
      y = Math.round(DEMO_SCREEN.height * (0.5 + 0.35 * Math.sin(t * 1.8)));
      onInput({ type: 'move', x, y, ts: Date.now() });
      tick += 1;
      if (tick % 90 === 0) {
        const button = BUTTONS[Math.floor(this.random() * BUTTONS.length)]!;
        const at = { x, y };
        onInput({ type: 'button', ...at, button, pressed: true, ts: Date.now() });
        this.later(80, () => onInput({ type: 'button', ...at, button, pressed: false, ts: Date.now() }));
      }
      if (tick % 150 === 75) {
        const up = this.random() < 0.5;
        onInput({ type: 'wheel', x, y, dx: 0, dy: up ? 1 : -1, ts: Date.now() });
      }
    }, TICK_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers = this.timers.filter((t) => t !== timer);
      fn();
    }, ms);
    this.timers.push(timer);
  }
}

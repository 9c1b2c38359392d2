import { createSubscriber } from 'svelte/reactivity';

/** How often panels of text (the log, the topic tree) re-render at most: 10 times a second is all one can read. */
export const TEXT_EVERY_MS = 100;

const due = new Set<() => void>();

function runDue(): void {
  const callbacks = [...due];
  due.clear();
  for (const callback of callbacks) callback();
}

/** Runs `callback` in the next animation frame, once however often it is asked for before then. */
export function inNextFrame(callback: () => void): void {
  if (due.size === 0) requestAnimationFrame(runDue);
  due.add(callback);
}

/**
 * A model's reactive version. A component that reads the model (the model calls `track()` in its getters)
 * re-renders after the model calls `changed()`, at most once per animation frame however many changes come
 * in between, and with `everyMs` at most once per that many milliseconds (text nobody can read at 60 Hz).
 * Outside a component (unit tests, the server build) both are no-ops: models stay plain classes.
 */
export class FrameSignal {
  #update: (() => void) | undefined;
  #lastUpdate = 0;
  #waiting = false;

  constructor(private readonly everyMs = 0) {}

  readonly #subscribe = createSubscriber((update) => {
    this.#update = update;
    return () => {
      this.#update = undefined;
    };
  });

  track(): void {
    this.#subscribe();
  }

  changed(): void {
    if (!this.#update || this.#waiting) return;
    const wait = this.#lastUpdate + this.everyMs - performance.now();
    if (wait <= 0) return inNextFrame(this.#run);
    this.#waiting = true;
    setTimeout(() => {
      this.#waiting = false;
      inNextFrame(this.#run);
    }, wait);
  }

  readonly #run = (): void => {
    this.#lastUpdate = performance.now();
    this.#update?.();
  };
}

import { createSubscriber } from 'svelte/reactivity';

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
 * in between. Outside a component (unit tests, the server build) both are no-ops: models stay plain classes.
 */
export class FrameSignal {
  #update: (() => void) | undefined;
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
    if (this.#update) inNextFrame(this.#update);
  }
}

import { createSubscriber } from 'svelte/reactivity';

/** The time for components: reading `now` re-renders the reader every `everyMs`, only while it is shown. */
export class Clock {
  readonly #subscribe: () => void;

  constructor(everyMs: number) {
    this.#subscribe = createSubscriber((update) => {
      const timer = setInterval(update, everyMs);
      return () => clearInterval(timer);
    });
  }

  get now(): number {
    this.#subscribe();
    return Date.now();
  }
}

/** For "seen 5 s ago" and rates. */
export const clock = new Clock(1000);
/** For countdowns, where a second late would read wrong. */
export const quickClock = new Clock(250);

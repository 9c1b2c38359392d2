import { afterEach } from 'vitest';

/** What a test started (clients, brokers, processes), ended after it in reverse order, whatever fails. */
export class Teardown {
  private steps: (() => unknown)[] = [];

  /** Registers `end` for `thing` and returns the thing. */
  add<T>(thing: T, end: (thing: T) => unknown): T {
    this.steps.push(() => end(thing));
    return thing;
  }

  async run(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** A Teardown run after each test of the file that calls this (it registers the afterEach). */
export function teardownAfterEach(): Teardown {
  const teardown = new Teardown();
  afterEach(() => teardown.run());
  return teardown;
}

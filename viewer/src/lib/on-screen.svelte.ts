import { SvelteSet } from 'svelte/reactivity';

/**
 * Which of many elements are on screen or near it (one IntersectionObserver for all), for work worth doing
 * only for what one can see, such as drawing a chart. `has(key)` is reactive, per key.
 */
export class OnScreen {
  readonly #shown = new SvelteSet<string>();
  readonly #keys = new WeakMap<Element, string>();
  #observer: IntersectionObserver | undefined;

  has(key: string): boolean {
    return this.#shown.has(key);
  }

  /** A Svelte action: `<li use:onScreen.watch={key}>`. */
  readonly watch = (node: Element, key: string) => {
    this.#observer ??= new IntersectionObserver(
      (entries) => {
        for (const e of entries) {
          const k = this.#keys.get(e.target);
          if (k === undefined) continue;
          if (e.isIntersecting) this.#shown.add(k);
          else this.#shown.delete(k);
        }
      },
      { rootMargin: '200px' },
    );
    this.#keys.set(node, key);
    this.#observer.observe(node);
    return {
      destroy: () => {
        this.#observer?.unobserve(node);
        this.#shown.delete(key);
      },
    };
  };
}

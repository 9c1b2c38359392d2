/** A list that keeps only its newest `limit` items, newest first, so no history grows without bound. */
export class CappedList<T> {
  private items: T[] = [];

  constructor(readonly limit: number) {}

  add(item: T): void {
    this.items.unshift(item);
    if (this.items.length > this.limit) this.items.length = this.limit;
  }

  clear(): void {
    this.items = [];
  }

  get size(): number {
    return this.items.length;
  }

  /** Newest first; a new array each call, so a renderer sees the change. */
  list(): readonly T[] {
    return this.items.slice();
  }
}

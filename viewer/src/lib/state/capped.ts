/** A list that keeps only its newest `limit` items, newest first, so no history grows without bound. */
export class CappedList<T> {
  private items: T[] = [];

  constructor(readonly limit: number) {}

  add(item: T): void {
    this.items.unshift(item);
    if (this.items.length > this.limit) this.items.length = this.limit;
  }

  get newest(): T | undefined {
    return this.items[0];
  }

  /** Puts `item` in the place of the newest one (a new object, so a renderer sees the change). */
  replaceNewest(item: T): void {
    if (this.items.length > 0) this.items[0] = item;
    else this.add(item);
  }

  /** Replaces each item by `change(item)` (return the item itself to keep it). */
  update(change: (item: T) => T): void {
    this.items = this.items.map(change);
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

import type { Client } from 'aedes';

/** How many subscriptions each client holds; past `max`, a new filter is refused (SUBACK 0x80). */
export class SubscriptionCap {
  private readonly filters = new WeakMap<Client, Set<string>>();

  constructor(private readonly max: number) {}

  /** Why `client` may not add `filter`, or null (and it is counted). A filter it holds already is not one more. */
  admit(client: Client, filter: string): string | null {
    let held = this.filters.get(client);
    if (!held) this.filters.set(client, (held = new Set()));
    if (held.has(filter)) return null;
    if (held.size >= this.max) return `${held.size} subscriptions already (limit ${this.max}, --max-subscriptions-per-client)`;
    held.add(filter);
    return null;
  }

  forget(client: Client, filters: string[]): void {
    const held = this.filters.get(client);
    for (const f of filters) held?.delete(f);
  }
}

import type { Limits } from './limits';

/** Counts open connections in total and per remote address. */
export class ConnectionCounter {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: Pick<Limits, 'maxConnections' | 'maxConnectionsPerAddress'>) {}

  /** Returns why a new connection from `address` is refused, or null and counts it. */
  admit(address: string): string | null {
    const mine = this.perAddress.get(address) ?? 0;
    if (this.total >= this.limits.maxConnections) return `the broker has ${this.total} connections (limit ${this.limits.maxConnections})`;
    if (mine >= this.limits.maxConnectionsPerAddress) return `${address} has ${mine} connections (limit ${this.limits.maxConnectionsPerAddress})`;
    this.total += 1;
    this.perAddress.set(address, mine + 1);
    return null;
  }

  release(address: string): void {
    this.total -= 1;
    const mine = (this.perAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, mine);
  }
}

import type { Limits } from './limits';

/** A window of failed logins: how many since when, and whether its lockout was logged. */
interface LoginWindow {
  count: number;
  since: number;
  logged: boolean;
}

/** Why a login is refused without its password being checked. */
export interface Lockout {
  /** Locked for this user name at this address, or for the whole address. */
  scope: 'user' | 'address';
  failures: number;
  /** True once per window: the lockout is news, log it. */
  firstTime: boolean;
}

/**
 * Failed logins in fixed windows, per (address, user name) and per address. An attempt counts as soon as it
 * starts, before its (slow, asynchronous) password check, so attempts sent all at once cannot race past the
 * limit; a right password takes its attempt back. Past `maxFailedLoginsPerUser` for one user name, that name is
 * locked at that address (other users there still log in); past `maxFailedLoginsPerAddress` across names, the
 * whole address is, until the window is over.
 */
export class FailedLogins {
  private readonly windows = new Map<string, LoginWindow>();

  constructor(
    private readonly limits: Pick<Limits, 'maxFailedLoginsPerUser' | 'maxFailedLoginsPerAddress'>,
    readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts an attempt; returns the lockout that refuses it unchecked, or null (check the password). */
  attempt(address: string, user: string): Lockout | null {
    const locked = (scope: Lockout['scope'], w: LoginWindow): Lockout => {
      const firstTime = !w.logged;
      w.logged = true;
      return { scope, failures: w.count, firstTime };
    };
    const perAddress = this.window(address);
    // A locked-out address opens no window per user name: a flood of new names costs nothing to keep.
    if (perAddress.count >= this.limits.maxFailedLoginsPerAddress) return locked('address', perAddress);
    const perUser = this.window(`${address}\u0000${user}`);
    if (perUser.count >= this.limits.maxFailedLoginsPerUser) return locked('user', perUser);
    perAddress.count += 1;
    perUser.count += 1;
    return null;
  }

  /** The password was right: its attempt does not count as a failure. */
  succeeded(address: string, user: string): void {
    for (const key of [address, `${address}\u0000${user}`]) {
      const w = this.windows.get(key);
      if (w && w.count > 0) w.count -= 1;
    }
  }

  /** Windows open (for tests). */
  get size(): number {
    return this.windows.size;
  }

  private window(key: string): LoginWindow {
    const now = this.now();
    const w = this.windows.get(key);
    if (w && now - w.since <= this.windowMs) return w;
    // Forget windows that are over, so failures from many addresses cannot grow this map for good.
    for (const [k, old] of this.windows) if (now - old.since > this.windowMs) this.windows.delete(k);
    const fresh = { count: 0, since: now, logged: false };
    this.windows.set(key, fresh);
    return fresh;
  }
}

import type { Identity } from './rights';
import type { UsersFile } from './users';

/** Characters that would turn a client id pasted into an ACL pattern (`%c`) into a wildcard or a new level. */
export const UNSAFE_ID_CHARACTERS = /[+#/]/;

/**
 * Who may use which client id, on a broker with users. A client id belongs to the first user who connects with
 * it (and `device-{name}` to the device user `name` from the start: the publisher's id); after that only that
 * user, or an admin, may connect with it, so nobody else can take over a connection, its will, its persistent
 * session or its reply topic. Anonymous clients (`--allow-anonymous`) are one more owner, never the same as a
 * user. The `maxRemembered` ids used last are remembered, in memory, for as long as the broker runs.
 */
export class ClientIdOwners {
  /** Client id → its owner's user name (null: anonymous); in order of last use. */
  private readonly owners = new Map<string, string | null>();

  constructor(
    private readonly users: UsersFile,
    private readonly maxRemembered = 100_000,
  ) {}

  /** Why `identity` may not use its client id, or null: it may (and the id is then remembered as its owner's). */
  claim(identity: Identity): string | null {
    return this.whyNot(identity) ?? this.remember(identity);
  }

  /** Why `identity` may not use its client id, as far as this instance knows, or null. */
  whyNot(identity: Identity): string | null {
    const { clientId: id, username } = identity;
    const owner = this.ownerOf(id);
    if (owner === undefined || owner === username) return null;
    if (identity.role === 'admin') return null; // an admin may take over any id; it stays its owner's
    return `it belongs to ${owner ?? 'an anonymous client'}`;
  }

  /** Remembers `identity`'s user as the owner of its id (it was let in with it). */
  remember(identity: Identity): null {
    const { clientId: id, username } = identity;
    // Anonymous clients own nothing that needs remembering (any anonymous client may use an anonymous one's id),
    // so a flood of anonymous connections cannot push real owners out of this bounded table. An admin using
    // another's id leaves it its owner's.
    const owner = this.ownerOf(id);
    if (username === null || (owner !== undefined && owner !== username)) return null;
    this.owners.delete(id);
    this.owners.set(id, username);
    if (this.owners.size > this.maxRemembered) this.owners.delete(this.owners.keys().next().value!);
    return null;
  }

  /** Gives `id` back to `username`, its owner when the broker last stopped (its persistent session was kept). */
  restore(id: string, username: string): void {
    this.owners.set(id, username);
  }

  /** Whether `id` is a device user's by the users file (`device-{name}`): the same on every instance. */
  isReserved(id: string): boolean {
    return this.reservedFor(id) !== undefined;
  }

  /** The id's owner: remembered, or reserved; undefined when it has none. */
  private ownerOf(id: string): string | null | undefined {
    return this.owners.has(id) ? this.owners.get(id) : this.reservedFor(id);
  }

  /** `device-{name}` is the publisher's id for device user `name`. */
  private reservedFor(id: string): string | undefined {
    const name = /^device-(.+)$/.exec(id)?.[1];
    return name !== undefined && this.users.users[name]?.role === 'device' ? name : undefined;
  }
}

import { readFile } from 'node:fs/promises';
import type { Role } from './users';
import { filterCovers, topicMatches } from './topic-match';
import { UNSAFE_ID_CHARACTERS } from './client-ids';

export interface Identity {
  clientId: string;
  username: string | null;
  role: Role | 'anonymous';
}

/** One ACL rule; `%u` and `%c` in `topic` stand for the user name and the client id (never as wildcards). */
export interface AclRule {
  effect: 'allow' | 'deny';
  action: 'publish' | 'subscribe' | 'both';
  topic: string;
  user?: string;
  role?: Role | 'anonymous';
}

export class AclFileError extends Error {
  override name = 'AclFileError';
}

export async function readAcl(file: string): Promise<AclRule[]> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new AclFileError(`cannot read ACL file ${file}: ${(error as Error).message}`);
  }
  const rules = (data as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) throw new AclFileError(`ACL file ${file} has no "rules" list`);
  rules.forEach((r: AclRule, i) => {
    const where = `ACL file ${file}, rule ${i + 1}`;
    if (r?.effect !== 'allow' && r?.effect !== 'deny') throw new AclFileError(`${where}: "effect" must be allow or deny`);
    if (!['publish', 'subscribe', 'both'].includes(r.action)) throw new AclFileError(`${where}: "action" must be publish, subscribe or both`);
    if (typeof r.topic !== 'string' || r.topic === '') throw new AclFileError(`${where}: "topic" must be a topic filter`);
  });
  return rules as AclRule[];
}

/** What each role may read (subscribe to, and be delivered), besides what the ACL allows; an admin reads all. */
const READS: Record<Exclude<Role, 'admin'>, string[]> = {
  device: ['clients/+/messages'],
  viewer: ['devices/#', 'clients/+/messages'],
};

/**
 * Who may publish and subscribe to what: ACL rules first (the first that applies decides), then the role's
 * own rights. Anonymous clients get everything only when the broker has no users (loopback development).
 */
export class Rights {
  /**
   * Whether any client could be refused a delivery: with no users file and no ACL every client may read
   * everything, and delivery needs no check at all (the hot path).
   */
  readonly filtersDeliveries: boolean;

  constructor(
    private readonly rules: AclRule[],
    private readonly anonymousMayDoAll: boolean,
  ) {
    this.filtersDeliveries = rules.length > 0 || !anonymousMayDoAll;
  }

  canPublish(id: Identity, topic: string): boolean {
    const rule = this.firstRule(id, 'publish', (pattern) => topicMatches(pattern, topic));
    if (rule) return rule.effect === 'allow';
    switch (this.effectiveRole(id)) {
      case 'admin':
        return true;
      case 'device':
        return topicMatches(`devices/${id.username}/#`, topic);
      case 'viewer':
        return topic === `clients/${id.clientId}/messages`;
    }
  }

  canSubscribe(id: Identity, filter: string): boolean {
    // A deny rule refuses a subscription it covers whole; one that only overlaps filters at delivery.
    return this.mayRead(id, (pattern) => filterCovers(pattern, filter));
  }

  /**
   * Whether a message on `topic` may be delivered to this client now: the first subscribe rule that matches the
   * topic decides, else the role. Checked at every delivery, so a filter kept from before (a persistent session,
   * a queued message) never reads more than the client's rights allow today.
   */
  canRead(id: Identity, topic: string): boolean {
    // At every delivery: an admin with no ACL reads all without a closure or a scan.
    if (this.rules.length === 0 && this.effectiveRole(id) === 'admin') return true;
    return this.mayRead(id, (pattern) => topicMatches(pattern, topic));
  }

  /** The first subscribe rule whose pattern `covers` decides, else what the role reads (READS). */
  private mayRead(id: Identity, covers: (pattern: string) => boolean): boolean {
    const rule = this.firstRule(id, 'subscribe', covers);
    if (rule) return rule.effect === 'allow';
    const role = this.effectiveRole(id);
    return role === 'admin' || READS[role].some(covers);
  }

  private effectiveRole(id: Identity): Role {
    if (id.role !== 'anonymous') return id.role;
    return this.anonymousMayDoAll ? 'admin' : 'viewer';
  }

  private firstRule(id: Identity, action: 'publish' | 'subscribe', matches: (pattern: string, effect: AclRule['effect']) => boolean): AclRule | undefined {
    return this.rules.find((r) => {
      if (r.action !== 'both' && r.action !== action) return false;
      if (r.user !== undefined && r.user !== id.username) return false;
      // A rule for viewers covers anonymous clients too where they get a viewer's rights (and so on).
      if (r.role !== undefined && r.role !== id.role && r.role !== this.effectiveRole(id)) return false;
      const usesUser = r.topic.includes('%u');
      const usesClient = r.topic.includes('%c');
      // An id or user name with + # or / would widen the pattern: then an allow rule does not apply, a deny rule does.
      if ((usesUser && UNSAFE_ID_CHARACTERS.test(id.username ?? '')) || (usesClient && UNSAFE_ID_CHARACTERS.test(id.clientId))) return r.effect === 'deny';
      const pattern = r.topic.replaceAll('%u', id.username ?? '').replaceAll('%c', id.clientId);
      return matches(pattern, r.effect);
    });
  }
}

import { describe, expect, it } from 'vitest';
import { ClientIdOwners } from './client-ids';

const users = { users: { laptop: { role: 'device' as const, password: '' }, alice: { role: 'viewer' as const, password: '' } } };
const as = (clientId: string, username: string | null, role: 'device' | 'viewer' | 'admin' | 'anonymous' = 'viewer') => ({ clientId, username, role });

describe('ClientIdOwners', () => {
  it('gives an id to its first user, device-{name} to that device user, lets admins in, and forgets the least recently used', () => {
    const owners = new ClientIdOwners(users, 2);
    expect(owners.claim(as('v1', 'alice'))).toBeNull();
    expect(owners.claim(as('v1', 'bob'))).toBe('it belongs to alice');
    expect(owners.claim(as('v1', null, 'anonymous'))).toBe('it belongs to alice');
    expect(owners.claim(as('device-laptop', 'alice'))).toBe('it belongs to laptop');
    expect(owners.claim(as('device-nobody', null, 'anonymous'))).toBeNull(); // not a device user: first come
    expect(owners.claim(as('v1', 'root', 'admin'))).toBeNull();
    expect(owners.claim(as('v1', 'alice'))).toBeNull(); // still alice's
    expect(owners.claim(as('v2', 'bob'))).toBeNull(); // device-nobody is forgotten (2 remembered)
    expect(owners.claim(as('device-nobody', 'bob'))).toBeNull();
  });
});

import type { Client } from 'aedes';
import { describe, expect, it } from 'vitest';
import { Rights } from '../security/rights';
import { PublishRights } from './rights';

describe('PublishRights', () => {
  it('drops a publish the identity may not make, and disconnects at the third refusal unless the client hears of each', () => {
    const rights = new PublishRights(new Rights([], false), 3);
    const client = {} as Client;
    const viewer = { clientId: 'v1', username: 'alice', role: 'viewer' as const };
    expect(rights.check(client, viewer, 'clients/v1/messages')).toBeNull();
    expect(rights.check(client, viewer, 'devices/x/status')).toMatchObject({ reason: 'not_authorized', disconnect: false, why: 'alice may not publish there' });
    expect(rights.check(client, viewer, 'devices/x/status')?.disconnect).toBe(false);
    expect(rights.check(client, viewer, 'devices/x/status')?.disconnect).toBe(true);
    expect(rights.check({} as Client, undefined, 'a')).toMatchObject({ why: 'anonymous may not publish there' });
    const told = {} as Client;
    const listening = new PublishRights(new Rights([], false), 3, (c) => c === told);
    for (let i = 0; i < 5; i++) expect(listening.check(told, viewer, 'devices/x/status')).toMatchObject({ disconnect: false });
  });
});

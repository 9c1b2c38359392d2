import type { Aedes, AuthenticateError, Client } from 'aedes';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test-support/logs';
import { BrokerMetrics } from '../metrics';
import { SessionCap } from './sessions';

// The attack (found by an attack round on issue 26): a clean CONNECT for one of a user's sessions, its socket
// closed right after the login, made the cap forget that session while Aedes still stored it (Aedes clears a
// clean client's session only later, and not at all once the socket is gone), so one user held any number.
type Answer = [AuthenticateError | null, boolean | null];

function broker(): { aedes: Aedes & EventEmitter; connect(client: Partial<Client> & { remote?: string }): Answer } {
  const aedes = Object.assign(new EventEmitter(), { authenticate: (_c: Client, _u: unknown, _p: unknown, done: (e: null, ok: boolean) => void) => done(null, true) }) as unknown as Aedes & EventEmitter;
  return {
    aedes,
    connect(client) {
      let answer: Answer = [null, null];
      aedes.authenticate({ conn: { remoteAddress: client.remote ?? '10.0.0.7' }, ...client } as unknown as Client, 'bob', Buffer.from('x'), (error, ok) => (answer = [error, ok]));
      return answer;
    },
  };
}

describe('SessionCap', () => {
  it('keeps counting a session a clean CONNECT asked to end until Aedes has cleared it', () => {
    const { aedes, connect } = broker();
    const cap = new SessionCap({ maxSessionsPerUser: 2 }, new BrokerMetrics(), capturingLogger().log, () => ({ clientId: 'x', username: 'bob', role: 'viewer' }));
    cap.install(aedes);
    expect(connect({ id: 's1', clean: false })).toEqual([null, true]);
    expect(connect({ id: 's2', clean: false })).toEqual([null, true]);
    // A clean CONNECT for s1 passes the login, but its socket closes before Aedes clears s1: s1 still counts.
    expect(connect({ id: 's1', clean: true })).toEqual([null, true]);
    expect(connect({ id: 's3', clean: false })[0]).toMatchObject({ returnCode: 3 });
    // Once Aedes has cleared it (its 'client' event for the clean client), there is room.
    aedes.emit('client', { id: 's1', clean: true });
    expect(connect({ id: 's3', clean: false })).toEqual([null, true]);
  });

  it('frees the place of a persistent CONNECT whose socket closed during its login: Aedes stores nothing for it (found by a review)', () => {
    const { aedes, connect } = broker();
    const cap = new SessionCap({ maxSessionsPerUser: 1 }, new BrokerMetrics(), capturingLogger().log, () => ({ clientId: 'x', username: 'bob', role: 'viewer' }));
    cap.install(aedes);
    expect(connect({ id: 'gone', clean: false, closed: true })).toEqual([null, true]);
    expect(connect({ id: 'kept', clean: false })).toEqual([null, true]);
    aedes.emit('client', { id: 'kept', clean: false });
    expect(connect({ id: 'third', clean: false })[0]).toMatchObject({ returnCode: 3 });
  });

  it('counts anonymous clients per remote address, but not this machine’s own (loopback)', () => {
    const { aedes, connect } = broker();
    const cap = new SessionCap({ maxSessionsPerUser: 1 }, new BrokerMetrics(), capturingLogger().log, (client) => ({ clientId: client.id, username: null, role: 'anonymous' }));
    cap.install(aedes);
    expect(connect({ id: 'a1', clean: false, remote: '10.0.0.7' })).toEqual([null, true]);
    expect(connect({ id: 'a2', clean: false, remote: '10.0.0.7' })[0]).toMatchObject({ returnCode: 3 });
    expect(connect({ id: 'a3', clean: false, remote: '10.0.0.8' })).toEqual([null, true]);
    for (const [id, remote] of [['l1', '127.0.0.1'], ['l2', '::1'], ['l3', '::ffff:127.0.0.1']]) expect(connect({ id, clean: false, remote })).toEqual([null, true]);
  });
});

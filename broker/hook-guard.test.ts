import type { AedesOptions, Client, PublishPacket, Subscription } from 'aedes';
import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../test-support/logs';
import { guardHooks, HOOK_FAILED } from './hook-guard';

const client = { id: 'attacker\u202e' } as Client;
const packet = { cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false, dup: false } as PublishPacket;
const boom = () => {
  throw new RangeError('Maximum call stack size exceeded');
};
type Hooks = Parameters<typeof guardHooks>[0];
const throwing: Hooks = { preConnect: boom, authenticate: boom, authorizePublish: boom, authorizeSubscribe: boom, authorizeForward: boom };

describe('guardHooks', () => {
  it('turns a hook that throws into a refusal, logged and counted, instead of an error thrown into Aedes', () => {
    const logs = capturingLogger();
    let faults = 0;
    const hooks = guardHooks(throwing, logs.log, () => faults++);
    const answers: unknown[][] = [];
    const record = (...args: unknown[]) => void answers.push(args);
    hooks.preConnect(client, {} as Parameters<NonNullable<AedesOptions['preConnect']>>[1], record);
    hooks.authenticate(client, 'u', Buffer.from('p'), record);
    hooks.authorizePublish(client, packet, record);
    hooks.authorizeSubscribe(client, { topic: '#', qos: 1 } as Subscription, record);
    expect(hooks.authorizeForward(client, packet as Parameters<Hooks['authorizeForward']>[1])).toBeNull();
    expect(answers[0]).toEqual([expect.objectContaining({ returnCode: 3 }), false]);
    expect(answers[1]).toEqual([expect.objectContaining({ returnCode: 3 }), false]);
    expect(answers[2]![0]).toBeInstanceOf(Error);
    expect(answers[3]).toEqual([null, null]);
    expect(faults).toBe(5);
    const events = logs.events(HOOK_FAILED);
    expect(events.map((e) => e.hook)).toEqual(['preConnect', 'authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeForward']);
    expect(events[0]).toMatchObject({ clientId: 'attacker\u202e', err: 'RangeError: Maximum call stack size exceeded' });
    // The human line escapes the client's id (a bidi override must not reorder the log line).
    expect(logs.messages().join('\n')).not.toContain('\u202e');
  });

  it('answers once: a hook that answered and then threw keeps its answer', () => {
    const logs = capturingLogger();
    const hooks = guardHooks(
      { ...throwing, authorizePublish: (_c, _p, done) => (done(null), boom()) },
      logs.log,
    );
    const answers: unknown[][] = [];
    hooks.authorizePublish(client, packet, (...args: unknown[]) => void answers.push(args));
    expect(answers).toEqual([[null]]);
    expect(logs.events(HOOK_FAILED)).toHaveLength(1);
  });

  it('passes answers of hooks that do not throw through unchanged', () => {
    const logs = capturingLogger();
    const hooks = guardHooks({ ...throwing, authorizeForward: (_c, p) => p, authorizeSubscribe: (_c, s, done) => done(null, s) }, logs.log);
    expect(hooks.authorizeForward(client, packet as Parameters<Hooks['authorizeForward']>[1])).toBe(packet);
    const answers: unknown[][] = [];
    hooks.authorizeSubscribe(client, { topic: 'a', qos: 0 } as Subscription, (...args: unknown[]) => void answers.push(args));
    expect(answers).toEqual([[null, { topic: 'a', qos: 0 }]]);
    expect(logs.events(HOOK_FAILED)).toEqual([]);
  });

  it('refuses when an asynchronous hook fails later, after its promise was handed back (the login: found by a review)', async () => {
    const logs = capturingLogger();
    const late: Hooks['authenticate'] = () => Promise.resolve().then(() => boom()) as unknown as void;
    const hooks = guardHooks({ ...throwing, authenticate: late }, logs.log);
    const answers: unknown[][] = [];
    hooks.authenticate(client, 'u', Buffer.from('p'), (...args: unknown[]) => void answers.push(args));
    await expect.poll(() => answers).toEqual([[expect.objectContaining({ returnCode: 3 }), false]]);
    expect(logs.events(HOOK_FAILED)).toEqual([expect.objectContaining({ hook: 'authenticate', err: 'RangeError: Maximum call stack size exceeded' })]);
  });

  it('names a throw from what Aedes did with the answer as such, and answers nothing twice', () => {
    const logs = capturingLogger();
    const hooks = guardHooks({ ...throwing, authorizeSubscribe: (_c, s, done) => done(null, s) }, logs.log);
    const answers: unknown[][] = [];
    hooks.authorizeSubscribe(client, { topic: 'a', qos: 0 } as Subscription, (...args: unknown[]) => {
      answers.push(args);
      throw new Error('in Aedes');
    });
    expect(answers).toHaveLength(1);
    expect(logs.events(HOOK_FAILED)).toEqual([expect.objectContaining({ hook: 'authorizeSubscribe (after it answered)', err: 'Error: in Aedes' })]);
  });
});

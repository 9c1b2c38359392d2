import type { IClientOptions, MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReadyEvent } from '../broker/cli';
import { connect, connectWithInbox, Inbox, subscribe } from '../test-support/mqtt';
import { brokerReady, spawnMqlive, type Spawned } from '../test-support/processes';
import { makeUsers } from '../test-support/security';

// Issue 26: what a client was refused stays refused, also for a persistent session that reconnects. Against
// the compiled broker with a users file, over TCP and WebSocket. Each test ends with a barrier message: one the
// client may read, published after the ones it may not, so its arrival shows the others were never coming.
let broker: Spawned;
let ready: ReadyEvent;
const open: MqttClient[] = [];

beforeAll(async () => {
  const { file } = await makeUsers({ alice: 'viewer', root: 'admin' });
  broker = spawnMqlive(['broker', '--mqtt-port', '0', '--http-port', '0', '--log-format', 'json', '--users', file, '--max-subscriptions-per-client', '3']);
  ready = await brokerReady(broker, 20_000);
});

afterAll(async () => {
  for (const c of open) c.end(true);
  await broker?.stop('SIGKILL');
});

async function login(name: string, url: string, extra: Parameters<typeof connect>[1] = {}): Promise<MqttClient> {
  const client = await connect(url, { username: name, password: `${name}-password`, ...extra });
  open.push(client);
  return client;
}

/** Logs in with an Inbox attached before the CONNECT goes out, so messages queued for the session are all seen. */
const loginWithInbox = (name: string, url: string, extra: IClientOptions) => connectWithInbox(url, { username: name, password: `${name}-password`, ...extra }, open);

const reply = (text: string) => JSON.stringify({ text, ts: Date.now() });

describe.each(['tcp', 'ws'] as const)('over %s', (transport) => {
  const url = () => (transport === 'tcp' ? ready.mqtt : ready.ws);

  it('a filter refused in a SUBSCRIBE is not kept for a persistent session: nothing comes through it after a reconnect', async () => {
    const clientId = `alice-${transport}`;
    const session = { clientId, clean: false } as const;
    const first = await login('alice', url(), session);
    expect(await subscribe(first, ['clients/+/messages', '#'], 1)).toEqual([1, 128]);
    const root = await login('root', ready.mqtt, { clientId: `root-${transport}` });
    // Sent while alice is online: she may read none of these but the reply.
    await root.publishAsync(`secret/online-${transport}`, 'for admins', { qos: 1 });
    await root.publishAsync(`clients/root-${transport}/messages`, reply('online barrier'), { qos: 1 });
    const inboxFirst = new Inbox(first);
    await inboxFirst.waitFor((m) => m.text.includes('online barrier'));
    expect(inboxFirst.messages.map((m) => m.topic)).toEqual([`clients/root-${transport}/messages`]);
    first.end(true);
    await new Promise<void>((resolve) => first.once('close', () => resolve()));

    // Sent while she is away: queued for her session only what she may read.
    await root.publishAsync(`secret/offline-${transport}`, 'for admins', { qos: 1 });
    await root.publishAsync(`clients/root-${transport}/messages`, reply('offline barrier'), { qos: 1 });
    const inbox = await loginWithInbox('alice', url(), session);
    await inbox.waitFor((m) => m.text.includes('offline barrier'));
    await root.publishAsync(`secret/after-${transport}`, 'for admins', { qos: 1 });
    await root.publishAsync(`clients/root-${transport}/messages`, reply('last barrier'), { qos: 1 });
    await inbox.waitFor((m) => m.text.includes('last barrier'));
    expect(inbox.messages.filter((m) => m.topic.startsWith('secret/'))).toEqual([]);
  });

  it('filters past --max-subscriptions-per-client are refused and not kept for the session either', async () => {
    const clientId = `root-cap-${transport}`;
    const first = await login('root', url(), { clientId, clean: false });
    expect(await subscribe(first, ['a/1', 'a/2', 'a/3', 'a/4', 'a/5'], 1)).toEqual([1, 1, 1, 128, 128]);
    first.end(true);
    await new Promise<void>((resolve) => first.once('close', () => resolve()));
    const publisher = await login('root', ready.mqtt, { clientId: `root-pub-${transport}` });
    for (const n of [5, 4, 3]) await publisher.publishAsync(`a/${n}`, `to ${n}`, { qos: 1 });
    const inbox = await loginWithInbox('root', url(), { clientId, clean: false });
    await inbox.waitFor((m) => m.topic === 'a/3');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['a/3']);
  });
});

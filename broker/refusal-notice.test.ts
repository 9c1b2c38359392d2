import { describe, expect, it } from 'vitest';
import { refusedTopic } from '../protocol';
import { brokersWithUsers, startTestBrokerFor } from '../test-support/broker';
import { closed, Inbox, retainedOn, subscribe } from '../test-support/mqtt';
import { teardownAfterEach } from '../test-support/teardown';

const brokers = brokersWithUsers({ laptop: 'device', alice: 'viewer', root: 'admin' });
const teardown = teardownAfterEach();

const retained = async (env: Awaited<ReturnType<typeof brokers.start>>, filter: string) => {
  const late = await env.login('root', 'tcp', { clientId: `late-${Math.random().toString(16).slice(2, 8)}` });
  return (await retainedOn(late, filter)).map((m) => `${m.topic}=${m.text}`);
};

describe('refusal notices ($mqlive/clients/{clientId}/refused)', () => {
  it('tell a client that listens which publish was refused and why, before its acknowledgement', async () => {
    const env = await brokers.start();
    const viewer = await env.login('alice', 'ws', { clientId: 'viewer-a' });
    const inbox = new Inbox(viewer);
    expect(await subscribe(viewer, refusedTopic('viewer-a'))).toEqual([1]);
    await viewer.publishAsync('devices/laptop/status', 'online', { qos: 1, retain: true });
    // The notice is written before the PUBACK, so it is here when publishAsync resolves.
    const notice = inbox.messages.find((m) => m.topic === refusedTopic('viewer-a'));
    expect(notice && JSON.parse(notice.text)).toMatchObject({ topic: 'devices/laptop/status', reason: 'not_authorized', why: 'alice may not publish there' });
    // A contract refusal is told the same way.
    await viewer.publishAsync('clients/viewer-a/messages', '{"text":""}', { qos: 1 });
    await inbox.waitFor((m) => m.text.includes('invalid_payload'));
  });

  it('a client that listens is not disconnected at the third refused publish; one that does not listen is', async () => {
    const env = await brokers.start({ limits: { maxRefusedPublishes: 3 } });
    const told = await env.login('alice', 'tcp', { clientId: 'told' });
    const inbox = new Inbox(told);
    await subscribe(told, refusedTopic('told'));
    for (let i = 0; i < 5; i++) await told.publishAsync(`devices/laptop/x${i}`, 'x', { qos: 1 });
    expect(inbox.messages.filter((m) => m.topic === refusedTopic('told'))).toHaveLength(5);
    expect(told.connected).toBe(true);
    const blind = await env.login('alice', 'tcp', { clientId: 'blind' });
    const gone = closed(blind);
    for (let i = 0; i < 3; i++) blind.publish('devices/laptop/status', 'online', { qos: 0 });
    await gone;
  });

  it("nobody reads another client's notices: not by name, not by wildcard, not as admin", async () => {
    const env = await brokers.start();
    const root = await env.login('root', 'tcp', { clientId: 'root-1' });
    const spy = new Inbox(root);
    expect(await subscribe(root, [refusedTopic('viewer-a'), '$mqlive/#', '$mqlive/clients/+/refused', '#'])).toEqual([128, 128, 128, 1]);
    const other = await env.login('alice', 'tcp', { clientId: 'viewer-b' });
    expect(await subscribe(other, [refusedTopic('viewer-a'), '$mqlive/clients/+/refused'])).toEqual([128, 128]);
    const viewer = await env.login('alice', 'tcp', { clientId: 'viewer-a' });
    await subscribe(viewer, refusedTopic('viewer-a'));
    await viewer.publishAsync('devices/laptop/status', 'online', { qos: 1 });
    // The notice went out before the PUBACK: a barrier published after that reaches the spy after any copy.
    await root.publishAsync('barrier/notices', 'after', { qos: 1 });
    await spy.waitFor((m) => m.topic === 'barrier/notices');
    expect(spy.messages.filter((m) => m.topic.startsWith('$mqlive'))).toEqual([]);
  });

  it('without users, a client id with a wildcard cannot widen its own notice filter', async () => {
    const env = await startTestBrokerFor(teardown, {});
    const sly = await env.connect('tcp', { clientId: '+' });
    expect(await subscribe(sly, '$mqlive/clients/+/refused')).toEqual([128]);
    const hash = await env.connect('tcp', { clientId: 'a/b' });
    expect(await subscribe(hash, '$mqlive/clients/a/b/refused')).toEqual([128]);
  });

  it('nobody publishes a notice, not even an admin: the broker alone writes under $mqlive/', async () => {
    const env = await brokers.start();
    const viewer = await env.login('alice', 'tcp', { clientId: 'viewer-a' });
    const inbox = new Inbox(viewer);
    await subscribe(viewer, [refusedTopic('viewer-a'), 'clients/+/messages']);
    const root = await env.login('root');
    const gone = closed(root);
    root.publish(refusedTopic('viewer-a'), JSON.stringify({ topic: 'x', reason: 'not_authorized', why: 'fake' }));
    await gone;
    // The fake was refused (root is gone for it) before this barrier was sent: had it gone through, it came first.
    const barrier = await env.login('root', 'tcp', { clientId: 'barrier' });
    await barrier.publishAsync('clients/barrier/messages', JSON.stringify({ text: 'after', ts: 1 }), { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'clients/barrier/messages');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['clients/barrier/messages']);
    expect(env.broker.metrics.rejectedPublishes.reserved_topic).toBe(1);
  });
});

describe('clearing retained status and meta with an empty retained payload', () => {
  const meta = JSON.stringify({ name: 'laptop', kind: 'mouse', source: 'demo', screen: null, host: 'h', version: '1', schema: 1, startedAt: 1 });

  it('a device clears its own, an admin clears any; a fresh subscriber then gets nothing retained', async () => {
    const env = await brokers.start();
    const root = await env.login('root');
    const laptop = await env.login('laptop', 'tcp', { clientId: 'device-laptop' });
    await laptop.publishAsync('devices/laptop/status', 'offline', { qos: 1, retain: true });
    await laptop.publishAsync('devices/laptop/meta', meta, { qos: 1, retain: true });
    await root.publishAsync('devices/gone/status', 'offline', { qos: 1, retain: true });
    expect((await retained(env, 'devices/#')).sort()).toEqual(['devices/gone/status=offline', `devices/laptop/meta=${meta}`, 'devices/laptop/status=offline']);
    await laptop.publishAsync('devices/laptop/status', '', { qos: 1, retain: true });
    await laptop.publishAsync('devices/laptop/meta', '', { qos: 1, retain: true });
    await root.publishAsync('devices/gone/status', '', { qos: 1, retain: true });
    expect(await retained(env, 'devices/#')).toEqual([]);
    expect(env.broker.metrics.rejectedPublishes.invalid_payload).toBe(0);
  });

  it("a viewer cannot clear a device's status or meta, nor a device another device's", async () => {
    const env = await brokers.start();
    const root = await env.login('root');
    await root.publishAsync('devices/laptop/status', 'online', { qos: 1, retain: true });
    await root.publishAsync('devices/other/status', 'online', { qos: 1, retain: true });
    const viewer = await env.login('alice', 'ws', { clientId: 'viewer-a' });
    await viewer.publishAsync('devices/laptop/status', '', { qos: 1, retain: true });
    await viewer.publishAsync('devices/laptop/meta', '', { qos: 1, retain: true });
    const laptop = await env.login('laptop', 'tcp', { clientId: 'device-laptop' });
    await laptop.publishAsync('devices/other/status', '', { qos: 1, retain: true });
    expect((await retained(env, 'devices/#')).sort()).toEqual(['devices/laptop/status=online', 'devices/other/status=online']);
    expect(env.broker.metrics.rejectedPublishes.not_authorized).toBe(3);
  });

  it('an empty payload is still refused where it clears nothing: not retained, or on a topic that is not retained', async () => {
    const env = await brokers.start();
    const root = await env.login('root');
    const watcher = await env.login('root', 'tcp', { clientId: 'watcher' });
    const inbox = new Inbox(watcher);
    await subscribe(watcher, ['devices/#', 'clients/+/messages']);
    await root.publishAsync('devices/laptop/status', '', { qos: 1, retain: false });
    await root.publishAsync('devices/laptop/mouse/click', '', { qos: 1, retain: true });
    await root.publishAsync('clients/root/messages', '', { qos: 1, retain: true });
    await root.publishAsync('devices/laptop/status', 'maybe', { qos: 1, retain: true });
    await root.publishAsync('devices/laptop/status', 'online', { qos: 1 });
    await inbox.waitFor((m) => m.text === 'online');
    expect(inbox.messages.map((m) => `${m.topic}=${m.text}`)).toEqual(['devices/laptop/status=online']);
    expect(env.broker.metrics.rejectedPublishes.invalid_payload).toBe(4);
  });
});

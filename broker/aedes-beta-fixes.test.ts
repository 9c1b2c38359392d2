import { describe, expect, it } from 'vitest';
import { RawClient, rawClientBroker } from '../test-support/raw-client';

// What Aedes 1.2.0 fixed and its MQTT 5 beta lacks (broker/aedes-beta-fixes.ts): each case ended or confused a
// broker on the bare beta.
const { endpoint, open } = rawClientBroker();

describe.each([4, 5] as const)('MQTT version %s', (protocolVersion) => {
  it('two PUBRELs for one QoS 2 message in one write get two PUBCOMPs, and the broker goes on', async () => {
    const { client } = await RawClient.open(endpoint, 'tcp', { clientId: `pubrel-twice-${protocolVersion}`, clean: true, protocolVersion }, open);
    client.send({ cmd: 'publish', topic: 'fixes/pubrel', payload: Buffer.from('x'), qos: 2, messageId: 7, retain: false, dup: false });
    await client.waitFor((p) => p.cmd === 'pubrec', 'PUBREC');
    client.send({ cmd: 'pubrel', messageId: 7 }, { cmd: 'pubrel', messageId: 7 });
    await client.waitFor(() => client.received.filter((q) => q.cmd === 'pubcomp').length === 2, 'two PUBCOMPs');
    const { returnCode } = await RawClient.open(endpoint, 'ws', { clientId: `after-pubrel-${protocolVersion}`, clean: true, protocolVersion }, open);
    expect(returnCode).toBe(0);
  });

  it.each(['constructor', '__proto__', 'hasOwnProperty', 'toString'])('a client id named like an inherited property (%s) connects, is taken over and delivers', async (name) => {
    const clientId = name;
    const { client: first } = await RawClient.open(endpoint, 'tcp', { clientId, clean: true, protocolVersion }, open);
    const { client: second, returnCode } = await RawClient.open(endpoint, 'tcp', { clientId, clean: true, protocolVersion }, open);
    expect(returnCode).toBe(0);
    await first.waitForClose();
    second.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: name, qos: 0 }] });
    await second.waitFor((p) => p.cmd === 'suback', 'SUBACK');
    second.send({ cmd: 'publish', topic: name, payload: Buffer.from('here'), qos: 0, retain: false, dup: false });
    await second.waitFor((p) => p.cmd === 'publish' && p.topic === name, `the message on ${name}`);
    second.end();
  });
});

// No local is MQTT 5's; the same clearing serves mqlive's own skips (rights at delivery) for any version.
it('a persistent session skipping its own message (no local) keeps its connection and the messages queued beside it', async () => {
  const subscriptions = [{ topic: 'fixes/nl/self', qos: 1 as const, nl: true }, { topic: 'fixes/nl/other', qos: 1 as const }];
  const { client } = await RawClient.open(endpoint, 'tcp', { clientId: 'nl-persistent', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } }, open);
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions });
  await client.waitFor((p) => p.cmd === 'suback', 'SUBACK');
  const publish = (topic: string, text: string, messageId: number) => ({ cmd: 'publish' as const, topic, payload: Buffer.from(text), qos: 1 as const, messageId, retain: false, dup: false });
  client.send(publish('fixes/nl/other', 'o1', 11), publish('fixes/nl/self', 'own', 12), publish('fixes/nl/other', 'o2', 13));
  await client.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'o2', 'o2');
  expect(client.payloads()).toEqual(['o1', 'o2']);
});

it('an MQTT 5 session resumed (Clean Start 0) without a Session Expiry gets what was queued for it, and ends with that connection', async () => {
  const session = { clientId: 'resume-no-expiry', protocolVersion: 5 as const };
  const first = await RawClient.subscribed(endpoint, 'tcp', { ...session, clean: true, properties: { sessionExpiryInterval: 600 } }, 'fixes/resume', 1, open);
  first.end();
  await first.closed;
  const { client: publisher } = await RawClient.open(endpoint, 'tcp', { clientId: 'resume-publisher', clean: true, protocolVersion: 5 }, open);
  publisher.send({ cmd: 'publish', topic: 'fixes/resume', payload: Buffer.from('queued'), qos: 1, messageId: 1, retain: false, dup: false });
  await publisher.waitFor((p) => p.cmd === 'puback', 'PUBACK');
  const { client: resumed, connack } = await RawClient.open(endpoint, 'tcp', { ...session, clean: false }, open);
  expect(connack.sessionPresent).toBe(true);
  await resumed.waitFor((p) => p.cmd === 'publish', 'the queued message');
  expect(resumed.payloads()).toEqual(['queued']);
  resumed.end();
  await resumed.closed;
  // Its session ended with that connection: nothing is resumed next time.
  const { client: again, connack: after } = await RawClient.open(endpoint, 'tcp', { ...session, clean: false }, open);
  again.end();
  expect(after.sessionPresent).toBe(false);
});

describe.each([4, 5] as const)('packet order, MQTT version %s', (protocolVersion) => {
  it('a PUBLISH sent in the same write right after a SUBSCRIBE that matches it is delivered through it (Aedes handled them side by side)', async () => {
    const { client } = await RawClient.open(endpoint, 'tcp', { clientId: `order-${protocolVersion}`, clean: true, protocolVersion }, open);
    const publish = (payload: string, qos: 0 | 1) => ({ cmd: 'publish' as const, topic: `fixes/order/${protocolVersion}`, payload: Buffer.from(payload), qos, ...(qos > 0 && { messageId: 7 }), retain: false, dup: false });
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `fixes/order/${protocolVersion}`, qos: 1 }] }, publish('at 0', 0), publish('at 1', 1), { cmd: 'pingreq' });
    await client.waitFor((p) => p.cmd === 'pingresp', 'PINGRESP');
    await client.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'at 1', 'at 1');
    expect(client.received.map((p) => p.cmd).slice(0, 2)).toEqual(['connack', 'suback']);
    expect(client.payloads().sort()).toEqual(['at 0', 'at 1']);
    // And what follows an UNSUBSCRIBE in the same write no longer comes through it.
    client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: [`fixes/order/${protocolVersion}`] }, publish('after', 0), { cmd: 'pingreq' });
    await client.waitFor((p) => p.cmd === 'pingresp' && client.received.filter((q) => q.cmd === 'pingresp').length === 2, 'the second PINGRESP');
    expect(client.payloads().sort()).toEqual(['at 0', 'at 1']);
  });
});

describe.each([4, 5] as const)('a clean session, MQTT version %s', (protocolVersion) => {
  it('does not inherit the QoS 2 messages its id left unreleased: its own message with the same id is published', async () => {
    const topic = `fixes/qos2/${protocolVersion}`;
    const watcher = await RawClient.subscribed(endpoint, 'tcp', { clientId: `qos2-watch-${protocolVersion}`, clean: true, protocolVersion }, topic, 2, open);
    const session = { clientId: `qos2-${protocolVersion}`, clean: true, protocolVersion };
    const publish = (payload: string) => ({ cmd: 'publish' as const, topic, payload: Buffer.from(payload), qos: 2 as const, messageId: 5, retain: false, dup: false });
    const { client: first } = await RawClient.open(endpoint, 'tcp', session, open);
    first.send(publish('old'));
    await first.waitFor((p) => p.cmd === 'pubrec', 'PUBREC'); // never released
    first.end();
    await first.closed;
    const { client: second } = await RawClient.open(endpoint, 'tcp', session, open);
    second.send(publish('new'));
    await second.waitFor((p) => p.cmd === 'pubrec', 'PUBREC');
    second.send({ cmd: 'pubrel', messageId: 5 });
    await watcher.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'new', 'the new message');
  });
});

describe.each([4, 5] as const)('a SUBSCRIBE or UNSUBSCRIBE with no filter, MQTT version %s', (protocolVersion) => {
  it('holds nothing back: what follows it is handled', async () => {
    const { client } = await RawClient.open(endpoint, 'tcp', { clientId: `empty-unsub-${protocolVersion}`, clean: true, protocolVersion }, open);
    client.sendBytes(Buffer.from(protocolVersion === 5 ? [0xa2, 0x03, 0x00, 0x01, 0x00] : [0xa2, 0x02, 0x00, 0x01]));
    client.send({ cmd: 'pingreq' });
    // Answered, or the connection closed for the protocol error: either way nothing waits for ever.
    await Promise.race([client.waitFor((p) => p.cmd === 'pingresp', 'PINGRESP'), client.closed]);
  });
});

it('an MQTT 5 session resumed with Clean Start 0 keeps its unreleased QoS 2 messages: a resend is not published twice', async () => {
  const topic = 'fixes/qos2-resume';
  const watcher = await RawClient.subscribed(endpoint, 'tcp', { clientId: 'qos2-resume-watch', clean: true, protocolVersion: 5 }, topic, 2, open);
  const publish = (dup: boolean) => ({ cmd: 'publish' as const, topic, payload: Buffer.from('once'), qos: 2 as const, messageId: 7, retain: false, dup });
  const { client: first } = await RawClient.open(endpoint, 'tcp', { clientId: 'qos2-resume', clean: true, protocolVersion: 5, properties: { sessionExpiryInterval: 300 } }, open);
  first.send(publish(false));
  await first.waitFor((p) => p.cmd === 'pubrec', 'PUBREC');
  first.end();
  await first.closed;
  const { client: again } = await RawClient.open(endpoint, 'tcp', { clientId: 'qos2-resume', clean: false, protocolVersion: 5 }, open);
  again.send(publish(true));
  await again.waitFor((p) => p.cmd === 'pubrec', 'PUBREC');
  again.send({ cmd: 'pubrel', messageId: 7 }, { cmd: 'publish', topic, payload: Buffer.from('barrier'), qos: 0, retain: false, dup: false });
  await watcher.waitFor((p) => p.cmd === 'publish' && p.payload.toString() === 'barrier', 'the barrier');
  expect(watcher.payloads()).toEqual(['once', 'barrier']);
});

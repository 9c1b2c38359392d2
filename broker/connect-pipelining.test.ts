import mqttPacket from 'mqtt-packet';
import { connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { brokersWithUsers } from '../test-support/broker';
import { Inbox, subscribe } from '../test-support/mqtt';

// MQTT lets a client send on right after its CONNECT, without waiting for the CONNACK; the broker must not act
// on those packets before it has accepted the CONNECT (MQTT-3.1.4-5). Aedes 1.2 acted on a packet that came in
// a later read while the login (scrypt) was still running: unidentified, it was refused, and the refusal's log
// line threw on the client's null id. Found by broker/packets.fuzz.test.ts.
const brokers = brokersWithUsers({ laptop: 'device', root: 'admin' });

const connectPacket = (username: string) =>
  mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `pipe-${username}`, clean: true, keepalive: 30, username, password: Buffer.from(`${username}-password`) });
const publishPacket = (topic: string, payload: string, messageId: number) => mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId, retain: false, dup: false });

describe('packets sent before the CONNACK', () => {
  it('are acted on after the login, as the logged-in client: nothing is lost or refused', async () => {
    const env = await brokers.start();
    const watcher = await env.login('root', 'tcp');
    const inbox = new Inbox(watcher);
    await subscribe(watcher, 'devices/laptop/#');
    const socket = tcpConnect(env.broker.mqttPort, '127.0.0.1');
    const acks: number[] = [];
    const parser = mqttPacket.parser();
    parser.on('packet', (p) => p.cmd === 'puback' && acks.push(p.messageId!));
    socket.on('data', (d) => parser.parse(d));
    await new Promise((resolve) => socket.once('connect', resolve));
    const big = 'x'.repeat(100_000); // spans several reads
    // One write: the CONNECT and the start of the big PUBLISH come in the first read, the rest in later ones.
    socket.write(Buffer.concat([connectPacket('laptop'), publishPacket('devices/laptop/first', 'one', 1), publishPacket('devices/laptop/big', big, 2), publishPacket('devices/laptop/last', 'three', 3)]));
    await inbox.waitFor((m) => m.topic === 'devices/laptop/last');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['devices/laptop/first', 'devices/laptop/big', 'devices/laptop/last']);
    await expect.poll(() => acks).toEqual([1, 2, 3]);
    expect(env.logs.events('publish_dropped')).toEqual([]);
    expect(env.logs.events('hook_failed')).toEqual([]);
    socket.destroy();
  });

  it('are never acted on when the CONNECT is refused', async () => {
    const env = await brokers.start();
    const watcher = await env.login('root', 'tcp');
    const inbox = new Inbox(watcher);
    await subscribe(watcher, '#');
    const socket = tcpConnect(env.broker.mqttPort, '127.0.0.1');
    socket.on('error', () => {});
    socket.resume(); // read the CONNACK, so the end that follows it is seen
    await new Promise((resolve) => socket.once('connect', resolve));
    const wrong = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'intruder', clean: true, keepalive: 30, username: 'laptop', password: Buffer.from('wrong') });
    socket.write(Buffer.concat([wrong, publishPacket('devices/laptop/forged', 'x'.repeat(100_000), 1)]));
    await new Promise((resolve) => socket.once('close', resolve));
    const barrier = await env.login('root', 'tcp');
    await barrier.publishAsync('barrier', 'after', { qos: 1 });
    await inbox.waitFor((m) => m.topic === 'barrier');
    expect(inbox.messages.map((m) => m.topic)).toEqual(['barrier']);
    // Not even looked at: no refusal logged for it, no hook run on a client with no identity.
    expect(env.logs.events('publish_dropped')).toEqual([]);
    expect(env.logs.events('hook_failed')).toEqual([]);
  });
});

import mqttPacket from 'mqtt-packet';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';
import { RawClient } from '../test-support/raw-client';

let env: TestBroker;
beforeAll(async () => (env = await startTestBroker({ withTls: true })));
afterAll(() => env.close());

describe('MQTT versions', () => {
  it('accepts MQTT 5, MQTT 3.1.1 and MQTT 3.1 clients, over TCP, TLS and WebSocket', async () => {
    for (const transport of ['tcp', 'tls', 'ws'] as const) {
      for (const protocolVersion of [5, 4, 3] as const) {
        const client = await env.connect(transport, { protocolVersion, ...(protocolVersion === 3 && { protocolId: 'MQIsdp' }) });
        expect(client.connected).toBe(true);
        expect(env.logs.events('client_connected').at(-1)).toMatchObject({ protocolVersion });
      }
    }
  });

  it('gives an MQTT 5 client without an id one of its own (Assigned Client Identifier), with or without Clean Start; MQTT 3.1.1 needs a clean session for that', async () => {
    const endpoint = { mqtt: env.broker.mqttUrl, ws: env.broker.wsUrl };
    for (const clean of [true, false]) {
      const { client, connack } = await RawClient.open(endpoint, 'tcp', { clientId: '', clean, protocolVersion: 5, properties: { sessionExpiryInterval: clean ? 0 : 10 } });
      client.end();
      expect(connack.reasonCode ?? 0).toBe(0);
      expect(connack.properties?.assignedClientIdentifier).toMatch(/^\S{8,}$/);
    }
    const { client, returnCode } = await RawClient.open(endpoint, 'tcp', { clientId: '', clean: false, protocolVersion: 4 });
    client.end();
    expect(returnCode).toBe(2); // MQTT-3.1.3-8
  });

  it('cuts an MQTT 5 keep alive over 60 s (or none) to 60 s and says so (Server Keep Alive); MQTT 3.1.1 keeps what it asked', async () => {
    const endpoint = { mqtt: env.broker.mqttUrl, ws: env.broker.wsUrl };
    const asked = async (keepalive: number, protocolVersion: 4 | 5) => {
      const { client, connack } = await RawClient.open(endpoint, 'tcp', { clientId: `ka-${keepalive}-${protocolVersion}`, clean: true, keepalive, protocolVersion });
      client.end();
      return [connack.reasonCode ?? connack.returnCode, connack.properties?.serverKeepAlive];
    };
    expect(await asked(120, 5)).toEqual([0, 60]);
    expect(await asked(0, 5)).toEqual([0, 60]);
    expect(await asked(30, 5)).toEqual([0, undefined]);
    expect(await asked(120, 4)).toEqual([0, undefined]);
  });

  it('logs a client id taken over as such, with both addresses, in either version', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const clientId = `taken-${protocolVersion}`;
      await env.connect('tcp', { clientId, protocolVersion });
      await env.connect('ws', { clientId, protocolVersion });
      await expect.poll(() => env.logs.events('client_taken_over').filter((e) => e.clientId === clientId)).toEqual([
        expect.objectContaining({ remote: expect.stringMatching(/127\.0\.0\.1/), previousRemote: expect.stringMatching(/127\.0\.0\.1/) }),
      ]);
    }
  });

  it('refuses a protocol level it does not speak, with a log line that says which ones it does', async () => {
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'v6', clean: true, keepalive: 60 });
    connect[8] = 6; // the protocol level, after the fixed header and the protocol name
    const socket = tcpConnect(Number(new URL(env.broker.mqttUrl).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write(connect);
    await once(socket, 'close');
    await expect.poll(() => env.logs.events('connection_refused').map((l) => String(l.msg))).toContainEqual(expect.stringMatching(/mqlive speaks MQTT 5, 3\.1\.1 and 3\.1/));
  });
});

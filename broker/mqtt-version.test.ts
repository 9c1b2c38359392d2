import mqttPacket from 'mqtt-packet';
import { once } from 'node:events';
import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';

let env: TestBroker;
beforeAll(async () => (env = await startTestBroker()));
afterAll(() => env.close());

describe('MQTT versions', () => {
  it('accepts MQTT 5, MQTT 3.1.1 and MQTT 3.1 clients, over TCP and WebSocket', async () => {
    for (const transport of ['tcp', 'ws'] as const) {
      for (const protocolVersion of [5, 4, 3] as const) {
        const client = await env.connect(transport, { protocolVersion, ...(protocolVersion === 3 && { protocolId: 'MQIsdp' }) });
        expect(client.connected).toBe(true);
        expect(env.logs.events('client_connected').at(-1)).toMatchObject({ protocolVersion });
      }
    }
  });

  it('refuses a protocol level it does not speak, with a log line that says which ones it does', async () => {
    const connect = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'v6', clean: true, keepalive: 60 });
    connect[8] = 6; // the protocol level, after the fixed header and the protocol name
    const socket = tcpConnect(Number(new URL(env.broker.mqttUrl).port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write(connect);
    await once(socket, 'close');
    await expect.poll(() => env.logs.events('connection_refused').map((l) => String(l.msg))[0]).toMatch(/mqlive speaks MQTT 5, 3\.1\.1 and 3\.1/);
  });
});

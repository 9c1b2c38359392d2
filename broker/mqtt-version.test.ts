import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../test-support/broker';

let env: TestBroker;
beforeAll(async () => (env = await startTestBroker()));
afterAll(() => env.close());

describe('MQTT versions', () => {
  it('refuses an MQTT 5 client with a log line that says mqlive speaks MQTT 3.1.1 and how to connect', async () => {
    const client = mqtt.connect(env.broker.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000 });
    const failed = await new Promise<boolean>((resolve) => {
      client.once('connect', () => resolve(false));
      client.once('error', () => resolve(true));
      client.once('close', () => resolve(true));
    });
    client.end(true);
    expect(failed).toBe(true);
    await expect
      .poll(() => env.logs.events('connection_refused').map((l) => String(l.msg))[0])
      .toMatch(/MQTT 5\?\)\. mqlive speaks MQTT 3\.1\.1: connect with protocol version 4 \(mosquitto_sub -V mqttv311/);
  });

  it('accepts MQTT 3.1.1 and MQTT 3.1 clients', async () => {
    for (const protocolVersion of [4, 3] as const) {
      const client = await env.connect('tcp', { protocolVersion, ...(protocolVersion === 3 && { protocolId: 'MQIsdp' }) });
      expect(client.connected).toBe(true);
    }
  });
});

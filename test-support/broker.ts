import type { IClientOptions, MqttClient } from 'mqtt';
import { startBroker, type BrokerOptions, type RunningBroker } from '../broker/broker';
import { capturingLogger } from './logs';
import { connect } from './mqtt';
import { selfSignedCert } from './security';
import type { Teardown } from './teardown';

/** How a test client reaches the broker: MQTT over TCP, over WebSocket, or over TLS (mqtts). */
export type TransportCase = 'tcp' | 'ws' | 'tls';
export const TRANSPORTS: readonly TransportCase[] = ['tcp', 'ws', 'tls'];

export interface TestBroker {
  broker: RunningBroker;
  logs: ReturnType<typeof capturingLogger>;
  /** Connects a client (ended by close()); over TLS it trusts the test certificate. */
  connect(transport: TransportCase, options?: IClientOptions): Promise<MqttClient>;
  /** Connects as a user of makeUsers() (password: name + "-password"). */
  login(name: string, transport?: TransportCase, options?: IClientOptions): Promise<MqttClient>;
  /** The URL of one of its MQTT listeners. */
  url(transport: TransportCase): string;
  /** Ends every client connect() made, then the broker. */
  close(): Promise<void>;
}

let cert: ReturnType<typeof selfSignedCert> | undefined;
/** One self-signed certificate per test process (openssl takes a while). */
export function testCertificate(): ReturnType<typeof selfSignedCert> {
  return (cert ??= selfSignedCert());
}

/**
 * A real mqlive broker in this process on free ports, with its logs readable by the test. `overrides` are
 * BrokerOptions; `withTls` adds mqtts (and wss, https) with the test certificate.
 */
export async function startTestBroker(overrides: Partial<BrokerOptions> & { withTls?: boolean } = {}): Promise<TestBroker> {
  const { withTls, ...options } = overrides;
  const logs = capturingLogger();
  const tls = withTls ? { cert: testCertificate().cert, key: testCertificate().key, port: 0 } : undefined;
  const broker = await startBroker({ host: '127.0.0.1', mqttPort: 0, httpPort: 0, log: logs.log, ...(tls && { tls }), ...options });
  const clients: MqttClient[] = [];
  const url = (transport: TransportCase) => {
    const found = transport === 'tcp' ? broker.mqttUrl : transport === 'ws' ? broker.wsUrl : broker.mqttsUrl;
    if (!found) throw new Error('this test broker has no TLS listener: start it with withTls');
    return found;
  };
  const env: TestBroker = {
    broker,
    logs,
    url,
    login(name, transport = 'tcp', clientOptions = {}) {
      return env.connect(transport, { username: name, password: `${name}-password`, ...clientOptions });
    },
    async connect(transport, clientOptions = {}) {
      const url = env.url(transport);
      const secure = url.startsWith('mqtts:') || url.startsWith('wss:');
      const client = await connect(url, { ...(secure && { ca: testCertificate().cert }), ...clientOptions } as IClientOptions);
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients.splice(0)) c.end(true);
      await broker.close();
    },
  };
  return env;
}

export type TestBrokerOptions = Parameters<typeof startTestBroker>[0];

/** startTestBroker, closed by `teardown` once the test is over. */
export async function startTestBrokerFor(teardown: Teardown, options: TestBrokerOptions = {}): Promise<TestBroker> {
  return teardown.add(await startTestBroker(options), (e) => e.close());
}

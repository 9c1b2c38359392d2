import mqttPacket from 'mqtt-packet';
import { connect as tcpConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, beforeAll } from 'vitest';
import { startTestBroker, type TestBrokerOptions } from './broker';

/** Where a broker listens: its MQTT over TCP and MQTT over WebSocket URLs (a ReadyEvent has both). */
export interface Endpoint {
  mqtt: string;
  ws: string;
}

export type RawConnect = Omit<mqttPacket.IConnectPacket, 'cmd' | 'password' | 'protocolId' | 'protocolVersion' | 'keepalive'> & {
  password?: string;
  keepalive?: number;
  protocolVersion?: 4 | 5;
};

/**
 * A client that speaks MQTT packet by packet (mqtt-packet), in MQTT 3.1.1 or 5, so it can do what MQTT.js will
 * not: never send PUBACK or PUBREL, send a PUBREL twice, name a topic alias it never set, and see every packet
 * and reason code the broker sends back.
 */
export class RawClient {
  readonly received: mqttPacket.Packet[] = [];
  readonly closed: Promise<void>;
  private readonly waiters = new Set<() => void>();
  private write!: (bytes: Buffer) => void;
  private close!: () => void;

  private constructor(
    endpoint: Endpoint,
    transport: 'tcp' | 'ws',
    readonly protocolVersion: 4 | 5,
  ) {
    const parser = mqttPacket.parser({ protocolVersion });
    parser.on('packet', (p) => {
      this.received.push(p);
      for (const wake of this.waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      const ended = () => {
        resolve();
        for (const wake of this.waiters) wake();
      };
      if (transport === 'tcp') {
        const socket: Socket = tcpConnect(Number(new URL(endpoint.mqtt).port), '127.0.0.1');
        socket.on('data', (d) => parser.parse(d));
        socket.on('error', () => {});
        socket.on('close', ended);
        this.write = (bytes) => socket.write(bytes);
        this.close = () => socket.destroy();
      } else {
        const ws = new WebSocket(endpoint.ws, 'mqtt');
        const opened = new Promise<void>((r) => ws.once('open', () => r()));
        ws.on('message', (d: Buffer) => parser.parse(d));
        ws.on('error', () => {});
        ws.on('close', ended);
        this.write = (bytes) => void opened.then(() => ws.send(bytes));
        this.close = () => ws.terminate();
      }
    });
  }

  /** Opens a connection and sends CONNECT; resolves with the CONNACK (its return code, or reason code in MQTT 5). */
  static async open(endpoint: Endpoint, transport: 'tcp' | 'ws', connect: RawConnect, open?: { end(): unknown }[]): Promise<{ client: RawClient; returnCode: number; connack: mqttPacket.IConnackPacket }> {
    const { password, protocolVersion = 4, keepalive = 60, ...rest } = connect;
    const client = new RawClient(endpoint, transport, protocolVersion);
    open?.push({ end: () => client.end() });
    const packet = { cmd: 'connect', protocolId: 'MQTT', protocolVersion, keepalive, ...rest, ...(password !== undefined && { password: Buffer.from(password) }) } as const;
    if (rest.clientId === '' && !rest.clean) {
      // mqtt-packet will not write an empty id without Clean Start (legal in MQTT 5, refused in 3.1.1): clear the bit by hand.
      const bytes = mqttPacket.generate({ ...packet, clean: true }, { protocolVersion });
      if (bytes[1]! >= 0x80) throw new Error('a CONNECT this large needs a longer fixed header');
      bytes[9] = bytes[9]! & ~0x02; // the connect flags, after the fixed header (2), protocol name (6) and level (1)
      client.write(bytes);
    } else client.send(packet);
    const connack = (await client.waitFor((p) => p.cmd === 'connack', 'a CONNACK')) as mqttPacket.IConnackPacket;
    return { client, returnCode: connack.returnCode ?? connack.reasonCode ?? -1, connack };
  }

  /** Opens a session and subscribes it to `topic`; resolves once the SUBACK is in. */
  static async subscribed(endpoint: Endpoint, transport: 'tcp' | 'ws', connect: RawConnect, topic: string, qos: 1 | 2, open?: { end(): unknown }[]): Promise<RawClient> {
    const { client } = await RawClient.open(endpoint, transport, connect, open);
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
    await client.waitFor((p) => p.cmd === 'suback', 'SUBACK');
    return client;
  }

  /** Bytes as they are: for packets mqtt-packet will not write (an UNSUBSCRIBE with no filter, say). */
  sendBytes(bytes: Buffer): void {
    this.write(bytes);
  }

  send(...packets: mqttPacket.Packet[]): void {
    // Several packets go out in one write, as a pipelining client sends them.
    this.write(Buffer.concat(packets.map((p) => mqttPacket.generate(p, { protocolVersion: this.protocolVersion }))));
  }

  /** The payloads of the PUBLISH packets received, as text. */
  payloads(): string[] {
    return this.publishes().map((p) => p.payload.toString());
  }

  publishes(): mqttPacket.IPublishPacket[] {
    return this.received.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish');
  }

  /** Waits (5 s at most) for a received packet that matches. */
  async waitFor(match: (p: mqttPacket.Packet) => boolean, what: string): Promise<mqttPacket.Packet> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.received.find(match);
        if (found) return finish(() => resolve(found));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within 5 s; got ${JSON.stringify(this.received.map((p) => p.cmd))}`))), 5000);
      const finish = (then: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        then();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Waits (5 s at most) for the broker to close the connection. */
  async waitForClose(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('the broker did not close the connection within 5 s')), 5000)));
    await Promise.race([this.closed, timeout]).finally(() => clearTimeout(timer));
  }

  end(): void {
    this.close();
  }
}

/**
 * For a test file that drives one in-process broker with RawClients: the broker starts before its tests and is
 * closed after them, with every client opened with `open`. `endpoint` is filled in once the broker is up.
 */
export function rawClientBroker(options: TestBrokerOptions = {}): { endpoint: Endpoint; open: { end(): unknown }[] } {
  const endpoint: Endpoint = { mqtt: '', ws: '' };
  const open: { end(): unknown }[] = [];
  let close: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const env = await startTestBroker(options);
    Object.assign(endpoint, { mqtt: env.broker.mqttUrl, ws: env.broker.wsUrl });
    close = () => env.close();
  });
  afterAll(async () => {
    for (const c of open) c.end();
    await close();
  });
  return { endpoint, open };
}

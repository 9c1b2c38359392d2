import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { WebSocketServer } from 'ws';

export interface SeenConnect {
  clientId: string;
  username?: string;
  password?: string;
}

/**
 * A WebSocket endpoint that speaks just enough MQTT to refuse every CONNECT with `returnCode` (5: not
 * authorized) and remember what each CONNECT carried: a stand-in for a server that wants your password.
 */
export async function startRefusingBroker(returnCode = 5): Promise<{ url: string; connects: SeenConnect[]; close: () => Promise<void> }> {
  const connects: SeenConnect[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/mqtt', handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false) });
  server.on('connection', (socket) => {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => {
      if (packet.cmd !== 'connect') return;
      connects.push({ clientId: packet.clientId, username: packet.username, password: packet.password?.toString() });
      socket.send(mqttPacket.generate({ cmd: 'connack', returnCode, sessionPresent: false }));
      socket.close();
    });
    socket.on('message', (data) => parser.parse(data as Buffer));
  });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/mqtt`,
    connects,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

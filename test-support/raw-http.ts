import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
}

/**
 * Sends one hand-written HTTP/1.1 request head over a fresh socket to 127.0.0.1:`port` (any Host, Origin or
 * Upgrade header a browser would not let a test set) and resolves with the response head; 0 if the broker
 * closed the connection without answering. Bounded by `timeoutMs`.
 */
export function rawRequest(port: number, path: string, headers: Record<string, string>, timeoutMs = 5000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`no response head within ${timeoutMs} ms`))), timeoutMs);
    const finish = (response: RawResponse) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(response);
    };
    socket.on('error', () => {});
    socket.on('close', () => finish({ status: 0, headers: {} }));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = data.slice(0, end).split('\r\n');
      const fields = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      finish({ status: Number(statusLine!.split(' ')[1]), headers: fields });
    });
    const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`GET ${path} HTTP/1.1\r\n${head}\r\n`);
  });
}

/** The headers of a WebSocket upgrade to `host`, from a page at `origin` (if any), asking for `protocol`. */
export function upgradeHeaders(host: string, origin?: string, protocol = 'mqtt'): Record<string, string> {
  return {
    Host: host,
    ...(origin && { Origin: origin }),
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': protocol,
  };
}

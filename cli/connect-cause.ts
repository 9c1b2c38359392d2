/**
 * Why a broker URL gave no MQTT connection, in words a user can act on: a host that does not resolve, or a port
 * that speaks something else than the URL's scheme says (an HTTP server at mqtt://, TLS at ws://). MQTT.js says
 * only "Invalid header flag bits" or "socket hang up" there. The publisher, mqlive record and mqlive replay say
 * the same words (each in its own frame).
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** Error codes of a connection that was never made: nothing answered, so there is nothing to look at. */
const NOT_REACHED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** "cannot resolve host X: …" for a name the resolver does not know (or cannot look up now); null for any other error. */
export function unresolvedHost(error: Error, url: string): string | null {
  const host = new URL(url).hostname;
  const code = codeOf(error);
  if (code === 'ENOTFOUND') return `cannot resolve host ${host}: check the host name`;
  if (code === 'EAI_AGAIN') return `cannot resolve host ${host} now: the name server does not answer`;
  return null;
}

/**
 * Whether a failed first connection reached a server that gave no MQTT answer, so that identifyServer() may tell
 * what it is: the connection closed without an error, or with one that is neither a network error nor a CONNACK.
 */
export function reachedWithoutMqtt(error: Error | undefined): boolean {
  if (error === undefined) return true;
  const code = codeOf(error);
  return typeof code !== 'number' && !NOT_REACHED.has(String(code));
}

/** A Node error's code (ECONNREFUSED), or an MQTT.js error's CONNACK code (a number). */
function codeOf(error: Error): unknown {
  return (error as { code?: unknown }).code;
}

/** What answers at a host and port: TLS or not, and then MQTT, HTTP or something else. */
export interface ServerKind {
  tls: boolean;
  speaks: 'mqtt' | 'http' | 'other';
}

const DEFAULT_PORTS: Record<string, number> = { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 };
/** How long each of the (at most two) probe connections may take. */
const PROBE_TIMEOUT_MS = 3000;

/**
 * Connects to the URL's host and port, sends an MQTT CONNECT (as client `mqlive-probe-…`, no login) and reads the
 * first bytes of the answer: a CONNACK is MQTT, "HTTP/" is HTTP. When that tells nothing, it tries again in TLS
 * (the certificate is not checked: only whether the server speaks TLS is asked). Null when nothing could be reached.
 */
export async function identifyServer(url: string): Promise<ServerKind | null> {
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(parsed.port || DEFAULT_PORTS[parsed.protocol]);
  const plain = await firstAnswer(tcpConnect({ host, port }), 'connect');
  if (plain === 'mqtt' || plain === 'http') return { tls: false, speaks: plain };
  const secure = await firstAnswer(tlsConnect({ host, port, rejectUnauthorized: false, ...(isIP(host) === 0 && { servername: host }) }), 'secureConnect');
  if (secure !== null) return { tls: true, speaks: secure };
  return plain === null ? null : { tls: false, speaks: 'other' };
}

/** What the server answers to a CONNECT: null when the connection (or the TLS handshake) could not be made. */
function firstAnswer(socket: Socket, connected: 'connect' | 'secureConnect'): Promise<ServerKind['speaks'] | null> {
  return new Promise((resolve) => {
    let isOpen = false;
    let answer = Buffer.alloc(0);
    const done = (kind: ServerKind['speaks'] | null) => {
      clearTimeout(timer);
      if (kind === 'mqtt') socket.end(Buffer.from([0xe0, 0x00])); // DISCONNECT: a polite goodbye to a broker
      else socket.destroy();
      resolve(kind);
    };
    const timer = setTimeout(() => done(isOpen ? 'other' : null), PROBE_TIMEOUT_MS);
    socket.once(connected, () => {
      isOpen = true;
      socket.write(connectPacket());
    });
    socket.on('data', (chunk: Buffer) => {
      answer = Buffer.concat([answer, chunk]);
      if (answer[0] === 0x20) done('mqtt');
      else if (answer.length >= 5) done(answer.subarray(0, 5).toString('latin1') === 'HTTP/' ? 'http' : 'other');
    });
    socket.on('error', () => {}); // what ends the connection is said by close
    socket.once('close', () => done(isOpen ? 'other' : null));
  });
}

/** An MQTT 3.1.1 CONNECT: clean session, keep-alive 10 s, no login (every MQTT broker answers it with a CONNACK). */
function connectPacket(): Buffer {
  const id = Buffer.from(`mqlive-probe-${randomBytes(4).toString('hex')}`);
  const variableHeader = Buffer.from([0, 4, ...Buffer.from('MQTT'), 4, 0x02, 0, 10]);
  const payload = Buffer.concat([Buffer.from([0, id.length]), id]);
  return Buffer.concat([Buffer.from([0x10, variableHeader.length + payload.length]), variableHeader, payload]);
}

const SCHEMES: Record<string, { tls: boolean; webSocket: boolean; what: string }> = {
  'mqtt:': { tls: false, webSocket: false, what: 'MQTT over TCP' },
  'mqtts:': { tls: true, webSocket: false, what: 'MQTT over TLS' },
  'ws:': { tls: false, webSocket: true, what: 'MQTT over WebSocket' },
  'wss:': { tls: true, webSocket: true, what: 'MQTT over secure WebSocket' },
};

/**
 * The words for a server whose kind does not fit the URL's scheme, with the URL to use instead, e.g. for
 * mqtt:// at an HTTP port "it is an HTTP server (mqlive's viewer port?), not MQTT over TCP: use ws://…/mqtt, …";
 * null when it fits (or too little is known to say).
 */
export function wrongPortWords(url: string, kind: ServerKind): string | null {
  const parsed = new URL(url);
  const scheme = SCHEMES[parsed.protocol];
  if (!scheme) return null;
  const at = parsed.host;
  const path = scheme.webSocket && parsed.pathname !== '/' ? parsed.pathname : '/mqtt';
  // What the server is, as a URL scheme: an HTTP server takes MQTT over WebSocket.
  const webSocket = kind.speaks === 'other' ? scheme.webSocket : kind.speaks === 'http';
  const right = `${webSocket ? 'ws' : 'mqtt'}${kind.tls ? 's' : ''}://${at}${webSocket ? path : ''}`;
  if (webSocket === scheme.webSocket) {
    if (kind.tls === scheme.tls) return null;
    return `it ${kind.tls ? 'speaks' : 'does not speak'} TLS: use ${right}`;
  }
  if (kind.speaks === 'mqtt') return `it is MQTT over ${kind.tls ? 'TLS' : 'TCP'}, not ${scheme.what}: use ${right}`;
  const other = kind.tls ? "mqtts:// with the broker's MQTT over TLS port (default 8883)" : "mqtt:// with the broker's MQTT port (default 1883)";
  return `it is an HTTP${kind.tls ? 'S' : ''} server (mqlive's viewer port?), not ${scheme.what}: use ${right}, or ${other}`;
}

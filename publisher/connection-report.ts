/**
 * What a publisher says about its connection, one line per change, naming the cause and the fix: a TLS
 * certificate it does not trust, a WebSocket URL without /mqtt, a login the broker refuses, a broker that
 * accepts the connection and then drops it because of what this device publishes, a broker that is away.
 * MQTT.js retries every second and hits the same problem each time; it is said once, not once per try.
 */
import { leadsToFallback } from '../protocol/mqtt-version';
import { hexCode, reasonName } from '../protocol/mqtt5-reasons';
import { printable } from '../protocol/printable';
import type { MqttClient } from 'mqtt';
import { identifyServer, reachedWithoutMqtt, unresolvedHost, wrongPortWords } from '../cli/connect-cause';
import type { Say } from './output';

export interface ConnectionReportOptions {
  url: string;
  device: string;
  username?: string;
  /** Each line with its event: `connected`, or `connection_problem` with a `reason` (see ProblemReason). */
  say: Say;
  /** The line for a connection that works. */
  connected: () => string;
  /** Fields the `connected` event carries besides url, device and protocol (the publisher's source). */
  connectedFields?: Record<string, unknown>;
  /** What waits while the broker is away, e.g. "clicks and scrolls wait in a queue until it is back". */
  waiting: string;
  /** Called after the line of a problem retrying cannot fix (a port that speaks something else): to stop. */
  onGiveUp?: (problem: Problem) => void;
}

/** A connection the broker closes sooner than this after accepting it was refused in all but name. */
export const SHORT_LIVED_MS = 5000;
/** The "unreachable" line waits this long, so that a reconnect that works at once says nothing. */
const UNREACHABLE_AFTER_MS = 1500;

const UNTRUSTED_CERTIFICATE = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']);

/** Why a connection does not work, in the `reason` field of a `connection_problem` event. */
export type ProblemReason =
  | 'untrusted_certificate'
  | 'certificate_name'
  | 'not_authorized'
  | 'bad_login'
  | 'connack'
  | 'websocket_path'
  | 'refused_after_connect'
  | 'taken_over'
  | 'disconnected'
  | 'wrong_port'
  | 'unresolved_host'
  | 'unreachable';

export interface Problem {
  reason: ProblemReason;
  line: string;
}

/** The problem for an error that retrying will not fix, or null when the broker is just away. */
export function explainError(error: Error & { code?: string | number }, options: Pick<ConnectionReportOptions, 'url' | 'username'> & { device?: string }): Problem | null {
  const { url, device, username } = options;
  if (typeof error.code === 'string' && UNTRUSTED_CERTIFICATE.has(error.code)) {
    const what = error.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ? 'is self-signed' : 'is not signed by a CA this machine trusts';
    const line = `The broker's TLS certificate at ${url} ${what} (${error.message}): pass that certificate, or the CA that signed it, with --ca FILE (or MQLIVE_CA=FILE)`;
    return { reason: 'untrusted_certificate', line };
  }
  if (error.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return { reason: 'certificate_name', line: `The broker's TLS certificate does not name the host in ${url} (${error.message}): connect by a name or address the certificate lists` };
  }
  // MQTT 3.1.1's return codes and MQTT 5's reason codes for the same refusals.
  if (error.code === 5 || error.code === 0x87) {
    const code = error.code === 5 ? '5' : '0x87';
    // The broker checks a device's will (its offline status) at connect: another user's device is refused there.
    if (username && device && username !== device) {
      const line = `The broker refused user "${username}" as device "${device}" (CONNACK ${code}, not authorized): with a users file, a device may publish only under devices/{its user name}/: use --device ${username}, or a user named "${device}"`;
      return { reason: 'not_authorized', line };
    }
    const line = username
      ? `The broker refused user "${username}" (CONNACK ${code}, not authorized): check the user's role in the broker's users file (npm run users -- list)`
      : `The broker wants a login (CONNACK ${code}, not authorized): pass --username NAME and the password in MQLIVE_PASSWORD (users are made with npm run users -- add)`;
    return { reason: 'not_authorized', line };
  }
  if (error.code === 4 || error.code === 0x86) {
    const code = error.code === 4 ? '4' : '0x86';
    return { reason: 'bad_login', line: `The broker refused the login of "${options.username ?? ''}" (CONNACK ${code}, bad user name or password): check --username and MQLIVE_PASSWORD` };
  }
  if (typeof error.code === 'number') return { reason: 'connack', line: `The broker refused the connection (CONNACK ${error.code}: ${error.message})` };
  // Anything else (refused, reset, timed out, keep-alive lost) means the broker cannot be reached right now.
  return null;
}

/**
 * The line for a WebSocket URL whose server answers but closes without MQTT (mqlive's broker answers 404 to
 * any path but /mqtt, which MQTT.js does not report), or null when the path is /mqtt already.
 */
export function webSocketPathLine(url: string): string | null {
  const parsed = new URL(url);
  if (!/^wss?:$/.test(parsed.protocol) || parsed.pathname === '/mqtt') return null;
  parsed.pathname = '/mqtt';
  return `No MQTT over WebSocket at ${url} (the server answers, then closes the connection): mqlive's broker serves it at the path /mqtt, so use --url ${parsed.href}`;
}

/** The line for a broker's MQTT 5 DISCONNECT, by its reason code. */
export function disconnectProblem(code: number, reasonString: string | undefined, options: Pick<ConnectionReportOptions, 'url' | 'device'>): Problem {
  const why = `${hexCode(code)} ${reasonName(code)}${reasonString ? `: ${printable(reasonString)}` : ''}`;
  if (code === SESSION_TAKEN_OVER) {
    const line = `Another connection took this device's client id at ${options.url} (${why}): another publisher runs with --device ${options.device ?? '?'}; give one of them another --device`;
    return { reason: 'taken_over', line };
  }
  return { reason: 'disconnected', line: `The broker at ${options.url} ended the connection (${why})` };
}

/** MQTT 5's DISCONNECT reason code for a session another connection took over. */
export const SESSION_TAKEN_OVER = 0x8e;

/** The line for a broker that accepts the connection, then closes it at once, again and again. */
export function refusedLine(options: Pick<ConnectionReportOptions, 'url' | 'device' | 'username'>): string {
  const { device, username } = options;
  const start = `The broker at ${options.url} accepts the connection, then closes it right after this device publishes: it refuses what device "${device}" publishes (MQTT 3.1.1 cannot say why; the broker's log does).`;
  if (username && username !== device) {
    return `${start} With a users file, a device may publish only under devices/{its user name}/: use --device ${username}, or a user named "${device}"`;
  }
  if (!username) return `${start} If the broker has a users file, log in as this device's user: --username ${device} and MQLIVE_PASSWORD`;
  return `${start} Check that user "${username}" has the device role (npm run users -- list)`;
}

/** Says what happens to `client`'s connection through `options.say`, each problem once. */
export function reportConnection(client: MqttClient, options: ConnectionReportOptions): void {
  const { say } = options;
  let connectedAt: number | null = null;
  let everConnected = false;
  let shortLived = 0;
  let refusedSaid = false;
  /** The problem said during this outage; cleared by a connection that works. */
  let problem: string | null = null;
  let networkReason = '';
  /** The last error of a network kind (not explained by explainError), or undefined when none came. */
  let networkError: Error | undefined;
  /** What the server at the URL turned out to be, when it did not fit the URL: asked once, before any connection. */
  let wrongPort: Promise<string | null> | undefined;
  let unreachableTimer: NodeJS.Timeout | undefined;
  let provenTimer: NodeJS.Timeout | undefined;

  const tell = ({ reason, line }: Problem) => {
    if (line === problem) return;
    problem = line;
    say(line, { event: 'connection_problem', url: options.url, device: options.device, reason });
  };
  const works = () => {
    shortLived = 0;
    refusedSaid = false;
    problem = null;
    const protocol = client.options.protocolVersion === 5 ? '5' : '3.1.1';
    say(options.connected(), { event: 'connected', url: options.url, device: options.device, protocol, ...options.connectedFields });
  };

  client.on('connect', () => {
    clearTimeout(unreachableTimer);
    [networkReason, networkError] = ['', undefined];
    connectedAt = Date.now();
    everConnected = true;
    if (shortLived === 0) return works();
    // The last connection was closed at once: this one counts only once it lasts.
    provenTimer = setTimeout(() => client.connected && works(), SHORT_LIVED_MS);
    provenTimer.unref();
  });
  client.on('close', () => {
    clearTimeout(provenTimer);
    if (connectedAt === null) return;
    const lasted = Date.now() - connectedAt;
    connectedAt = null;
    if (client.disconnecting) return;
    shortLived = lasted < SHORT_LIVED_MS ? shortLived + 1 : 0;
    if (shortLived >= 2 && !refusedSaid) {
      refusedSaid = true;
      tell({ reason: 'refused_after_connect', line: refusedLine(options) });
    }
  });
  // MQTT 5: the broker says why it ends the connection. Taken over is said so that two publishers of one device id
  // see why they knock each other off (the publisher stops on it: see cli.ts).
  // Said as it comes, not as this outage's problem: the broker being away afterwards is still said.
  client.on('disconnect', (packet) => {
    const code = packet.reasonCode ?? 0;
    if (code === 0) return;
    const { reason, line } = disconnectProblem(code, packet.properties?.reasonString, options);
    say(line, { event: 'connection_problem', url: options.url, device: options.device, reason });
  });
  client.on('offline', () => {
    if (refusedSaid || client.disconnecting) return;
    clearTimeout(unreachableTimer);
    // Reached, but no MQTT answer, before it ever worked: maybe the wrong kind of port (HTTP, TLS). Asked once.
    if (!everConnected && wrongPort === undefined && reachedWithoutMqtt(networkError)) {
      wrongPort = identifyServer(options.url).then((kind) => kind && wrongPortWords(options.url, kind));
    }
    unreachableTimer = setTimeout(async () => {
      const wrongPortSaid = everConnected ? null : await wrongPort;
      if (client.connected || problem !== null) return;
      if (wrongPortSaid) {
        const said: Problem = { reason: 'wrong_port', line: `Cannot connect to ${options.url}: ${wrongPortSaid}` };
        tell(said);
        return options.onGiveUp?.(said);
      }
      const unresolved = networkError && unresolvedHost(networkError, options.url);
      if (unresolved) {
        return tell({ reason: 'unresolved_host', line: `Cannot connect to ${options.url}: ${unresolved}; retrying every second, and ${options.waiting}` });
      }
      // Reached, yet no MQTT and no network error: on a WebSocket URL, most likely the wrong path.
      const wrongPath = networkReason === '' && !everConnected ? webSocketPathLine(options.url) : null;
      if (wrongPath) return tell({ reason: 'websocket_path', line: wrongPath });
      tell({ reason: 'unreachable', line: `Broker ${options.url} unreachable; ${options.waiting}${networkReason ? ` (${networkReason})` : ''}` });
    }, UNREACHABLE_AFTER_MS);
    unreachableTimer.unref();
  });
  client.on('error', (error) => {
    if (leadsToFallback(error)) return; // the fall-back to MQTT 3.1.1 is said in its own line
    const explained = explainError(error, options);
    if (explained === null) [networkReason, networkError] = [error.message, error];
    else tell(explained);
  });
}

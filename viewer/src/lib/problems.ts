import { refusalText } from './state/mqtt5';

/**
 * Why the connection or an action failed, as the worker tells the page: a code with the data its words need.
 * The words are made in one place, `problemText`, so the page decides by the code (a refusal, a lost
 * connection) and never by reading the text. Every string here that came from the wire (a reason string, a
 * notice, MQTT.js's words) ends up as text in the page, never as HTML.
 */
export type Problem =
  /** An action that needs the broker while the page is not connected. */
  | { code: 'not-connected' }
  /** The connection was up, and went. */
  | { code: 'connection-lost' }
  /** No connection was made and MQTT.js said nothing (a WebSocket that cannot open gives no reason). */
  | { code: 'unreachable'; url: string }
  /** MQTT.js's own error, in its words. */
  | { code: 'client-error'; message: string }
  /** A publish to a contract topic that the contract's check refuses (the broker would drop it). */
  | { code: 'contract'; topic: string; reason: string }
  /** An empty payload on a contract topic without Retain (it only clears a retained message). */
  | { code: 'clear-needs-retain' }
  /** A reply the contract refuses (too long, empty…). */
  | { code: 'reply-invalid'; reason: string }
  | { code: 'topic-empty' }
  | { code: 'topic-wildcard' }
  | { code: 'topic-system' }
  /** MQTT 5 properties on a connection in MQTT 3.1.1. */
  | { code: 'no-properties' }
  | { code: 'not-acknowledged' }
  /** The broker refused a publish: an MQTT 5 reason code (PUBACK 0x87 …) with its reason string. */
  | { code: 'refused'; reasonCode: number; reasonString?: string }
  /** The broker refused a publish and said why in mqlive's notice ($mqlive/clients/{id}/refused). */
  | { code: 'refused-notice'; why: string }
  | { code: 'too-many-topics'; count: number; max: number }
  /** Some topics of a clear were refused; `last` is why the last of them was. */
  | { code: 'not-cleared'; refused: string[]; total: number; last: Problem }
  /** The page's own subscriptions stay (the device list and the messages need them). */
  | { code: 'own-subscription'; filter: string; removing: boolean }
  /** A SUBACK refused the filter: over MQTT 5 with its reason code (and string), over 3.1.1 with none (null). */
  | { code: 'subscription-refused'; filter: string; reasonCode: number | null; reasonString?: string }
  | { code: 'subscribe-failed'; filter: string; message: string }
  | { code: 'not-a-recording'; name: string; message: string }
  /** Anything else that went wrong in the worker, in its own words. */
  | { code: 'failed'; message: string };

/** Why the page asks for a login: the credentials it gave were refused, or it gave none and the broker wants some. */
export type LoginReason = 'wrong-credentials' | 'login-required';

/** The one sentence a person reads for each problem. */
export function problemText(p: Problem): string {
  switch (p.code) {
    case 'not-connected':
      return 'not connected to the broker';
    case 'connection-lost':
      return 'the connection to the broker was lost';
    case 'unreachable':
      return `cannot reach a broker at ${p.url}: nothing answers there, or it is not MQTT over WebSocket${pathHint(p.url)}`;
    case 'client-error':
    case 'failed':
      return p.message;
    case 'contract':
      return `${p.reason} (the broker would drop it: ${p.topic} is a contract topic)`;
    case 'clear-needs-retain':
      return 'an empty payload on this topic only clears its retained message; tick Retain';
    case 'reply-invalid':
      return p.reason;
    case 'topic-empty':
      return 'the topic is empty';
    case 'topic-wildcard':
      return 'a topic to publish to cannot hold the wildcards + or #';
    case 'topic-system':
      return "topics starting with $ are the broker's own";
    case 'no-properties':
      return 'this broker speaks MQTT 3.1.1, which has no message properties';
    case 'not-acknowledged':
      return 'the broker did not acknowledge the message';
    case 'refused':
    case 'refused-notice':
      return `refused by the broker: ${refusalDetail(p)}`;
    case 'too-many-topics':
      return `${p.count} topics is more than one clear takes (${p.max}): clear a narrower branch`;
    case 'not-cleared': {
      const named = `${p.refused.slice(0, 3).join(', ')}${p.refused.length > 3 ? ', …' : ''}`;
      return `${p.refused.length} of ${p.total} not cleared (${named}): ${problemText(p.last)}`;
    }
    case 'own-subscription':
      return `${p.filter} is one of the page's own subscriptions${p.removing ? '' : ': always on'}`;
    case 'subscription-refused':
      return `the broker refused the subscription to "${p.filter}": ${p.reasonCode === null ? 'this user may not read it' : refusalText(p.reasonCode, p.reasonString)}`;
    case 'subscribe-failed':
      return `could not subscribe to "${p.filter}": ${p.message}`;
    case 'not-a-recording':
      return `${p.name} is not a recording mqlive can play: ${p.message}`;
  }
}

/** What the broker said of a refused publish ("0x87 Not authorized — …", or its notice's words); null for any other problem. */
export function refusalDetail(p: Problem): string | null {
  switch (p.code) {
    case 'refused':
      return refusalText(p.reasonCode, p.reasonString);
    case 'refused-notice':
      return p.why;
    default:
      return null;
  }
}

/** The words above the login form. */
export function loginText(reason: LoginReason): string {
  switch (reason) {
    case 'wrong-credentials':
      return 'Wrong user name or password.';
    case 'login-required':
      return 'This broker asks for a user name and password.';
  }
}

/**
 * mqlive's broker serves MQTT over WebSocket at /mqtt only (any other path: the upgrade is refused, which a
 * browser does not tell apart from nothing answering): for another path, say which URL would do, as the
 * command line does ("use --url ws://…/mqtt"). Other brokers may use other paths, so it is a hint.
 */
function pathHint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '';
  }
  if (parsed.pathname === '/mqtt') return '';
  parsed.pathname = '/mqtt';
  parsed.search = '';
  parsed.hash = '';
  return `. mqlive's broker serves it at the path /mqtt: use ${parsed.href}`;
}

/** An error that carries its problem, thrown in the worker and handed to the page's callers. */
export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problemText(problem));
  }
}

/** The problem of anything thrown: its own, or an unexpected error's words. */
export function problemOf(error: unknown): Problem {
  if (error instanceof ProblemError) return error.problem;
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

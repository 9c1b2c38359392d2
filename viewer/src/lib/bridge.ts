/**
 * What crosses between the page and its worker, in one direction each:
 *   page → worker: Actions (what the person does: connect, send a reply, subscribe, publish, clear retained, network state);
 *   worker → page: Reports (once per frame at most, what changed; and the outcome of an action).
 * The worker owns the connection and the models; the page only renders what it is told.
 */
import type { RefusalNotice } from '../../../protocol';
import type { LoginReason, Problem } from './problems';
import type { DeviceChanges } from './state/devices';
import type { FoldedEntry } from './state/event-log';
import type { SelectedUpdate, TopicUpdate } from './state/topic-stats';
import type { LatencyFigures } from './worker/latency';
import type { PlaybackInfo } from './worker/playback';
import type { PublishRequest } from './worker/publishing';

export type { PublishRequest } from './worker/publishing';

/** 'playback': no broker; a recording plays into the views. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'offline' | 'login' | 'bad-address' | 'playback';

export interface Credentials {
  username: string;
  password: string;
}

export interface ConnectionInfo {
  connection: ConnectionState;
  /** When the next try is due (epoch ms), while reconnecting. */
  nextTryAt: number | null;
  /** Why the last try failed or the connection went (problems.ts makes the words). */
  lastError: Problem | null;
  /** Why the broker wants (other) credentials; shown above the login form. */
  loginReason: LoginReason | null;
  extraSubscriptions: string[];
  /** The MQTT version of the connection (5, or 4 for 3.1.1 when the broker refused 5); null before one is made. */
  protocol: 5 | 4 | null;
}

/** A topic filter the person added, with the QoS asked for; kept per broker (saved-brokers.ts). */
export interface SavedSubscription {
  filter: string;
  qos: 0 | 1;
}

/** A message on clients/{from}/messages that passed the contract. */
export interface ClientMessageEntry {
  from: string;
  text: string;
  ts: number;
}

export type Action =
  /** The worker's first action; a 'connect' follows. */
  | { type: 'start'; viewerId: string; online: boolean }
  /** Leaves the broker (if any) and connects to `url`, with credentials when given; the models start again on a new URL. */
  | { type: 'connect'; url: string; credentials: Credentials | null; subscriptions: SavedSubscription[] }
  | { type: 'send'; id: number; text: string }
  | { type: 'subscribe'; id: number; filter: string; qos?: 0 | 1 }
  | { type: 'unsubscribe'; id: number; filter: string }
  /** Publishes; answered with 'done', its error 'refused' or 'refused-notice' when the broker said so. */
  | { type: 'publish'; id: number; request: PublishRequest }
  /** Which topics under `branch` (itself, or below `branch/`) hold a retained message, as far as the page knows; answered with 'done' and `topics`. */
  | { type: 'retained'; id: number; branch: string }
  /** Publishes an empty retained message to each topic; answered with 'done', an error naming what was refused. */
  | { type: 'clear'; id: number; topics: string[] }
  /** Takes a device off this page's list (Remove, when nothing retained keeps it there); it comes back if it sends again. */
  | { type: 'forget'; device: string }
  | { type: 'network'; online: boolean }
  | { type: 'stop' }
  /** Starts or stops recording what the worker receives; stopping answers with a 'recording' report. */
  | { type: 'record'; on: boolean }
  /** Leaves the broker and plays this recording (its text) instead; answered with 'done'. */
  | { type: 'open'; id: number; name: string; text: string }
  | { type: 'playback'; play?: boolean; speed?: number; seekMs?: number }
  /** The topic whose page is shown (null: none): the worker then sends its messages in `Frame.selected`. */
  | { type: 'select'; topic: string | null }
  /** The page has painted since the last frame and takes the next one (asked once per animation frame). */
  | { type: 'painted' };

/** What changed since the previous frame; `connection` only when it changed. */
export interface Frame {
  connection?: ConnectionInfo;
  devices: DeviceChanges;
  topics: TopicUpdate[];
  topicOverflow: number;
  /** Topics whose retained message was cleared: they leave the tree. */
  topicsRemoved: string[];
  /** The selected topic's new messages; only when there are any (or it was just selected). */
  selected?: SelectedUpdate;
  log: FoldedEntry[];
  messages: ClientMessageEntry[];
  /** The models started again (a recording opened, or played back from an earlier point): drop what was shown. */
  reset?: true;
  /** Latency of the devices that had events (worker/latency.ts). */
  latency: LatencyFigures[];
  /** Whether the page records; only when it changed. */
  recording?: boolean;
  /** The recording being played; only when it changed. */
  playback?: PlaybackInfo;
  /** The broker's notices of this page's publishes it refused (QoS 0 ones are known only this way). */
  refusals: RefusalNotice[];
  /** Messages received since the previous frame (for the subscriptions' rate). */
  received: number;
}

export type Report =
  | { type: 'frame'; frame: Frame }
  /** An action's outcome: its problem (a code with its data: problems.ts), or null when it went through. */
  | { type: 'done'; id: number; error: Problem | null; topics?: string[] }
  /** A finished recording, to download. */
  | { type: 'recording'; name: string; text: string };

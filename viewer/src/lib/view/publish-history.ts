import type { RefusalNotice } from '../../../../protocol';
import type { PublishRequest } from '../bridge';
import { CappedList } from '../state/capped';
import { FrameSignal } from './frame-signal';

/** Publishes this page remembers (newest first). */
export const PUBLISHED_ROWS = 50;
const SHOWN_PAYLOAD_CHARS = 200;

export type PublishOutcome = 'sending' | 'sent' | 'refused' | 'failed';

export interface Published {
  id: number;
  topic: string;
  /** The payload as sent, clipped for the list. */
  payload: string;
  qos: 0 | 1;
  retain: boolean;
  at: number;
  outcome: PublishOutcome;
  /** Why it failed; for a refusal, what the broker said ("0x87 Not authorized — …", or its notice's words). */
  why: string;
  /** The publish as sent, whole (payload and properties): **Publish again** sends it as it was. */
  request: PublishRequest;
}

/** What this page published from the Publish panel and what became of each, capped. */
export class PublishHistory {
  private readonly rows = new CappedList<Published>(PUBLISHED_ROWS);
  private nextId = 0;
  private readonly signal = new FrameSignal();

  add(request: PublishRequest, at: number): number {
    const payload = request.payload.length > SHOWN_PAYLOAD_CHARS ? `${request.payload.slice(0, SHOWN_PAYLOAD_CHARS)}…` : request.payload;
    const id = this.nextId++;
    this.rows.add({ id, topic: request.topic, payload, qos: request.qos, retain: request.retain, at, outcome: 'sending', why: '', request });
    this.signal.changed();
    return id;
  }

  settle(id: number, outcome: PublishOutcome, why = ''): void {
    // A refusal notice may come before the publish is reported sent (QoS 0): it stays refused. An MQTT 5 refusal
    // (PUBACK 0x87 …) after mqlive's notice replaces the notice's words: it also has the reason code.
    this.rows.update((row) => (row.id === id && (row.outcome !== 'refused' || outcome === 'refused') ? { ...row, outcome, why } : row));
    this.signal.changed();
  }

  /** A notice of a refusal that came after the publish was sent (QoS 0 has no acknowledgement to wait for). */
  refusedLater(notice: RefusalNotice): void {
    const row = this.rows.list().find((r) => r.topic === notice.topic && (r.outcome === 'sent' || r.outcome === 'sending'));
    if (row) this.settle(row.id, 'refused', notice.why);
  }

  list(): readonly Published[] {
    this.signal.track();
    return this.rows.list();
  }
}

import { checkMessage, type ClientMessage } from '../../../../protocol';
import { CappedList } from './capped';
import { FrameSignal } from './frame-signal';

export const MESSAGE_ROWS = 200;

export interface ReceivedMessage {
  id: number;
  from: string;
  text: string;
  ts: number;
}

/** What every client has sent on clients/{id}/messages, newest first, capped. */
export class ClientMessages {
  private readonly rows = new CappedList<ReceivedMessage>(MESSAGE_ROWS);
  private nextId = 0;
  private readonly signal = new FrameSignal();

  apply(topic: string, payload: Uint8Array): boolean {
    const checked = checkMessage(topic, payload);
    if (!checked.ok || checked.topic?.kind !== 'clientMessage') return false;
    const { text, ts } = checked.payload as ClientMessage;
    this.rows.add({ id: this.nextId++, from: checked.topic.clientId, text, ts });
    this.signal.changed();
    return true;
  }

  list(): readonly ReceivedMessage[] {
    this.signal.track();
    return this.rows.list();
  }
}

import type { ClientMessageEntry } from '../bridge';
import { CappedList } from '../state/capped';
import { FrameSignal } from './frame-signal';

export const MESSAGE_ROWS = 200;

export interface ReceivedMessage extends ClientMessageEntry {
  id: number;
}

/** What every client has sent on clients/{id}/messages, newest first, capped. */
export class ClientMessages {
  private readonly rows = new CappedList<ReceivedMessage>(MESSAGE_ROWS);
  private nextId = 0;
  private readonly signal = new FrameSignal();

  /** Adds one frame's messages, oldest first. */
  addAll(messages: readonly ClientMessageEntry[]): void {
    for (const m of messages) this.rows.add({ ...m, id: this.nextId++ });
    if (messages.length > 0) this.signal.changed();
  }

  list(): readonly ReceivedMessage[] {
    this.signal.track();
    return this.rows.list();
  }
}

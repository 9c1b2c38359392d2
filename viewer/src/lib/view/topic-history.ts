import { HISTORY_MESSAGES, type SelectedUpdate, type TopicMessage } from '../state/topic-stats';
import { FrameSignal, TEXT_EVERY_MS } from './frame-signal';

/**
 * The selected topic's last HISTORY_MESSAGES messages, newest first, as the worker sends them (it keeps each
 * topic's last few, and streams the selected one's). Only one topic's history lives on the page.
 */
export class TopicHistory {
  private selectedTopic: string | null = null;
  private items: TopicMessage[] = [];
  private readonly signal = new FrameSignal(TEXT_EVERY_MS);

  /** Starts the history of another topic (null: none); the worker then sends its recent messages. */
  select(topic: string | null): void {
    this.selectedTopic = topic;
    this.items = [];
    this.signal.changed();
  }

  apply(update: SelectedUpdate): void {
    // An update for a topic selected before (the worker had not heard of the change yet) is not this one's.
    if (update.topic !== this.selectedTopic) return;
    const fresh = update.messages.slice().reverse();
    const kept = update.reset ? fresh : [...fresh, ...this.items];
    this.items = kept.length > HISTORY_MESSAGES ? kept.slice(0, HISTORY_MESSAGES) : kept;
    this.signal.changed();
  }

  get topic(): string | null {
    this.signal.track();
    return this.selectedTopic;
  }

  /** Newest first; a new array after each change. */
  messages(): readonly TopicMessage[] {
    this.signal.track();
    return this.items;
  }
}

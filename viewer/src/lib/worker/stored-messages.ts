import { topicMatches } from '../../../../protocol/topic-filter';

/** Topics remembered per connection at most; past this, a retained flag is taken to mean "from the store". */
export const MAX_HEARD_TOPICS = 10_000;

/**
 * Which received messages the broker sent from its store when the page subscribed (old news: not in the event
 * log, and no sign that a device is there now), as against live ones. Over MQTT 3.1.1 that is the retain flag.
 * With MQTT 5's retain-as-published a live message keeps its retain flag too, so the flag alone cannot tell:
 * the broker sends a topic's stored message once per subscription, before anything live on that topic can be
 * told apart from it, so the first retained message of a topic since it was subscribed is taken as the stored
 * one, and every later message as live. (A topic whose first message ever comes live and retained is the one
 * case taken wrongly: it counts as stored.)
 */
export class StoredMessages {
  private readonly heard = new Set<string>();

  /** Whether this message came from the broker's store; `asPublished`: the subscription keeps retain flags. */
  fromStore(topic: string, retain: boolean, asPublished: boolean): boolean {
    if (!asPublished) return retain;
    if (this.heard.has(topic)) return false;
    if (this.heard.size < MAX_HEARD_TOPICS) this.heard.add(topic);
    return retain;
  }

  /** A new subscription to `filter` brings its topics' stored messages again. */
  subscribed(filter: string): void {
    for (const topic of this.heard) if (topicMatches(filter, topic)) this.heard.delete(topic);
  }

  /** A new connection: every topic's stored message comes again. */
  clear(): void {
    this.heard.clear();
  }
}

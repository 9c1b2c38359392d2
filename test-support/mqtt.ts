import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { topicMatches } from '../protocol/topic-filter';

/** Connects an MQTT.js client, failing after `timeoutMs` with the reason. */
export async function connect(url: string, options: IClientOptions = {}, timeoutMs = 5000): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: timeoutMs, ...options });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no CONNACK from ${url} within ${timeoutMs} ms`)), timeoutMs);
      client.once('connect', () => (clearTimeout(timer), resolve()));
      client.once('error', (error) => (clearTimeout(timer), reject(error)));
    });
  } catch (error) {
    client.end(true);
    throw error;
  }
  return client;
}

/**
 * Connects with an Inbox attached before the CONNECT goes out, so messages the broker sends right after the
 * CONNACK (a persistent session's queue) are all seen; `open` collects the client for the test to end.
 */
export async function connectWithInbox(url: string, options: IClientOptions, open: { end(force?: boolean): unknown }[] = []): Promise<Inbox> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
  open.push(client);
  const inbox = new Inbox(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return inbox;
}

export interface Received {
  topic: string;
  text: string;
  retain: boolean;
  qos: number;
  /** An MQTT 5 message's properties, where it has any. */
  properties?: IPublishPacket['properties'];
}

/** Records every message a client receives, and waits (bounded) for the ones a test expects. */
export class Inbox {
  readonly messages: Received[] = [];
  private waiters = new Set<() => void>();

  constructor(client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, text: payload.toString(), retain: packet.retain, qos: packet.qos, ...(packet.properties && { properties: packet.properties }) });
      for (const wake of this.waiters) wake();
    });
  }

  /** Resolves with the first recorded message that matches, waiting up to `timeoutMs` for it. */
  async waitFor(match: (m: Received) => boolean, timeoutMs = 5000, what = 'a matching message'): Promise<Received> {
    const found = () => this.messages.find(match);
    const early = found();
    if (early) return early;
    return new Promise((resolve, reject) => {
      const wake = () => {
        const m = found();
        if (m) {
          done();
          resolve(m);
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`waited ${timeoutMs} ms for ${what}; got ${JSON.stringify(this.messages.slice(-5))}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
    });
  }

  /** Waits until `count` messages on `topic` have arrived. */
  async waitForCount(topic: string, count: number, timeoutMs = 5000): Promise<Received[]> {
    const onTopic = () => this.messages.filter((m) => m.topic === topic);
    await this.waitFor(() => onTopic().length >= count, timeoutMs, `${count} messages on ${topic}`);
    return onTopic();
  }
}

/** Subscribes and returns the SUBACK's return codes, 128 for each refused filter. */
export async function subscribe(client: MqttClient, topic: string | string[], qos: 0 | 1 = 1): Promise<number[]> {
  try {
    const granted = await client.subscribeAsync(topic, { qos });
    return granted.map((g) => g.qos);
  } catch (error) {
    // MQTT.js rejects when any filter was refused; the SUBACK it carries still says which.
    const suback = (error as { packet?: { granted?: (number | { qos: number })[] } }).packet;
    if (!suback?.granted) throw error;
    return suback.granted.map((g) => (typeof g === 'number' ? g : g.qos));
  }
}

/** The retained message retainedOn asks for last by default: what comes before it is all there is. */
export const RETAINED_MARKER = 'barrier/retained';

/**
 * Subscribes `client` to `filters` and returns every retained message they bring, without waiting on a clock.
 * The same SUBSCRIBE asks for a marker topic last, and Aedes sends the marker's retained message after the
 * filters' ones: after the SUBACK it streams the retained messages of all the filters of one SUBSCRIBE, filter by
 * filter in the packet's order, writing each before it reads the next (aedes lib/handlers/subscribe.js
 * completeSubscribe: createRetainedStreamCombi piped through sendRetained, whose callback comes after the write;
 * aedes-persistence's in-memory store yields pattern by pattern). broker/retained-order.test.ts holds Aedes to it.
 *
 * The marker is RETAINED_MARKER, published retained here first (`client` must be allowed to), or `marker`: a topic
 * the test knows to be retained already (where one more retained topic would hit a cap). A marker the filters
 * match comes once for each of them too; its last copy is the barrier.
 */
export async function retainedOn(client: MqttClient, filters: string | string[], marker?: string): Promise<Received[]> {
  const list = [filters].flat();
  const topic = marker ?? RETAINED_MARKER;
  if (marker === undefined) await client.publishAsync(topic, 'marker', { qos: 1, retain: true });
  const copies = list.filter((filter) => topicMatches(filter, topic)).length + 1;
  const inbox = new Inbox(client);
  await subscribe(client, [...list, topic]);
  const markers = () => inbox.messages.filter((m) => m.topic === topic && m.retain);
  await inbox.waitFor(() => markers().length >= copies, 5000, `${copies} retained ${topic}`);
  const all = inbox.messages.filter((m) => m.retain);
  return all.slice(0, all.lastIndexOf(markers()[copies - 1]!));
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

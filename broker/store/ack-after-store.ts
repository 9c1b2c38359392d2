/**
 * Aedes 2.0.0-beta.1 answers a QoS 1 PUBLISH with its PUBACK first and publishes the message after it
 * (lib/handlers/publish.js, enqueuePublish: write(PubAck), then broker.publish, which stores a retained message and
 * queues it for offline sessions). A crash between the two loses a message the publisher was told is kept
 * (e2e/durable-store.test.ts, the SIGKILL right after the PUBACK). With the durable store the PUBACK waits: every
 * packet Aedes writes goes through mqtt-packet's writeToStream, which keeps back a plain PUBACK to a client of
 * this broker; Aedes's publish of that message, once it is done (and with it every write it made is on disk:
 * each persistence method resolves only then), writes it. QoS 2 needs nothing: Aedes stores the message before
 * its PUBREC. A refusal's PUBACK (a reason code) has no publish behind it and goes at once.
 */
import type { Aedes, Client, PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import { requireInternal } from '../library-internals';

type WriteToStream = (packet: { cmd: string; messageId?: number; reasonCode?: number }, stream: object, ...rest: unknown[]) => boolean;
type PublishFn = (packet: PublishPacket, client: Client | null | ((error?: Error) => void), done?: (error?: Error) => void) => void;

/** Connections of clients of a broker with a durable store: only their PUBACKs are kept back. */
const storeConnections = new WeakSet<object>();
/** PUBACKs kept back, by connection and packet id: each writes its PUBACK. */
const held = new WeakMap<object, Map<number, () => void>>();
let wrapped = false;

function holdPubacks(): void {
  if (wrapped) return;
  const packets = mqttPacket as unknown as { writeToStream: WriteToStream };
  requireInternal(typeof packets.writeToStream === 'function', 'mqtt-packet', 'writeToStream');
  const writeToStream = packets.writeToStream;
  const holding: WriteToStream = (packet, stream, ...rest) => {
    if (packet.cmd !== 'puback' || packet.reasonCode || packet.messageId === undefined || !storeConnections.has(stream)) return writeToStream(packet, stream, ...rest);
    let acks = held.get(stream);
    if (!acks) held.set(stream, (acks = new Map()));
    acks.set(packet.messageId, () => writeToStream(packet, stream, ...rest));
    return true;
  };
  // mqtt-packet reads its settings (cacheNumbers) from its own function: the wrapper's are that function's.
  const settings = writeToStream as unknown as { cacheNumbers: boolean };
  Object.defineProperty(holding, 'cacheNumbers', { get: () => settings.cacheNumbers, set: (value: boolean) => (settings.cacheNumbers = value) });
  packets.writeToStream = holding;
  wrapped = true;
}

/** Call once, right after creating a broker whose persistence is the durable store. */
export function ackAfterStore(aedes: Aedes): void {
  holdPubacks();
  aedes.on('client', (client) => storeConnections.add((client as unknown as { conn: object }).conn)); // before its first PUBLISH is read
  const mutable = aedes as unknown as { publish: PublishFn };
  requireInternal(typeof mutable.publish === 'function', 'aedes', 'Aedes#publish');
  const publish = mutable.publish.bind(aedes);
  mutable.publish = (packet, client, done) => {
    if (typeof client === 'function' || !client || packet.qos !== 1) return publish(packet, client, done);
    const conn = (client as unknown as { conn: object }).conn;
    publish(packet, client, (error) => {
      const acks = held.get(conn);
      const writeAck = acks?.get(packet.messageId!);
      if (writeAck) {
        acks!.delete(packet.messageId!);
        if (!error && !(conn as { destroyed?: boolean }).destroyed) writeAck();
      }
      done?.(error);
    });
  };
}

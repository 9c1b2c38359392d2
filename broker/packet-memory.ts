import mqttPacket from 'mqtt-packet';
import { createRequire } from 'node:module';

/**
 * mqtt-packet (which Aedes writes every packet through, and parses with) keeps memory the broker has no use for:
 *
 * - Its writer builds, on its first packet, a table of 65,536 two-byte Buffers, one per 16-bit number, to save an
 *   allocation per packet id or length it writes: about 6 MiB of heap in every broker process. mqlive encodes its
 *   QoS 0 deliveries itself (publish-encoding.ts); the rest (CONNACK, SUBACK, QoS 1 traffic) allocates two bytes
 *   per number instead.
 * - Its parser holds each connection's unparsed bytes in a `bl` BufferListStream, a full Duplex stream (readable and
 *   writable state, event tables) of which it only uses the buffer-list methods; a plain BufferList has the same
 *   methods without the stream, and saves that per connection.
 */
export function usePlainPacketNumbers(): void {
  mqttPacket.writeToStream.cacheNumbers = false;
}

/** The parts of Aedes's Client and mqtt-packet's Parser this relies on (not in their public types). */
interface ClientWithParser {
  _parser?: { _list?: BufferListLike; _resetState?: () => void };
}
interface BufferListLike {
  length: number;
  append(buffer: Buffer): unknown;
  consume(bytes: number): unknown;
  readUInt8(offset: number): number;
  slice(start?: number, end?: number): Buffer;
}

type BufferListClass = new () => BufferListLike;

/** bl's stream-less BufferList, from the copy of bl mqtt-packet itself loads; null if it is not where it should be. */
const PlainBufferList: BufferListClass | null = (() => {
  try {
    const fromPacket = createRequire(createRequire(import.meta.url).resolve('mqtt-packet'));
    const candidate = fromPacket('bl/BufferList.js') as BufferListClass;
    return typeof candidate === 'function' && typeof candidate.prototype.consume === 'function' ? candidate : null;
  } catch {
    return null;
  }
})();

/**
 * Swaps a new client's parser buffer for a plain BufferList (see above). Only while the buffer is still empty
 * (before any byte arrived); false, with the parser left as it is, when Aedes's or mqtt-packet's internals are not
 * as expected. A parser that resets after a parse error builds its own BufferListStream again: correct, only
 * not lean, and Aedes closes that connection anyway.
 */
export function useLeanParser(client: unknown): boolean {
  const parser = (client as ClientWithParser)._parser;
  const List = PlainBufferList;
  if (!List || !parser?._list || parser._list.length !== 0 || typeof parser._resetState !== 'function') return false;
  parser._list = new List();
  return true;
}

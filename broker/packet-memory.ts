import mqttPacket from 'mqtt-packet';
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';
import { requireInternal } from './library-internals';

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
 *
 * The plain buffer list is also where the parser reads every string of a packet (client id, user name, topics,
 * filters, will topic), so it is where mqlive refuses the strings MQTT forbids (see CheckedBufferList).
 */
export function usePlainPacketNumbers(): void {
  requireInternal('cacheNumbers' in mqttPacket.writeToStream, 'mqtt-packet', 'writeToStream.cacheNumbers');
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
  toString(encoding?: BufferEncoding, start?: number, end?: number): string;
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
 * A plain BufferList whose strings are checked as MQTT 3.1.1 §1.5.3 asks: a string with U+0000 or with bytes that
 * are not well-formed UTF-8 reads as null, which mqtt-packet takes as a packet it cannot parse for every MQTT 3.1.1
 * string (client id, user name, will topic, topic, filter): it emits an error and Aedes closes the connection
 * (MQTT-1.5.3-1, -2), so nothing of that packet is acted on. MQTT 5 string properties are read without that null
 * check: they would come through as null (the broker refuses MQTT 5 today; see docs/mqtt5.md). Decoding replaces
 * ill-formed bytes with U+FFFD, so only a string holding U+FFFD needs its bytes checked.
 */
const CheckedBufferList: BufferListClass | null = PlainBufferList
  ? class extends PlainBufferList {
      override toString(encoding?: BufferEncoding, start?: number, end?: number): string {
        const text = super.toString(encoding, start, end);
        if (encoding !== 'utf8') return text;
        if (text.includes('\u0000') || (text.includes('\ufffd') && !isUtf8(this.slice(start, end)))) return null as unknown as string;
        return text;
      }
    }
  : null;

/**
 * Whether the parser can be swapped as below: checked once at start-up, so that a change in mqtt-packet or bl
 * stops the broker with a clear reason instead of silently letting forbidden strings through.
 */
export function checkingParserAvailable(): boolean {
  return CheckedBufferList !== null;
}

/**
 * Swaps a new client's parser buffer for a plain BufferList (see above). Only while the buffer is still empty
 * (before any byte arrived); false, with the parser left as it is, when Aedes's or mqtt-packet's internals are not
 * as expected. A parser that resets after a parse error builds its own BufferListStream again: correct, only
 * not lean, and Aedes closes that connection anyway.
 */
export function useLeanParser(client: unknown): boolean {
  if (!leanParserFits(client)) return false;
  (client as ClientWithParser)._parser!._list = new CheckedBufferList!();
  return true;
}

/** Whether useLeanParser can swap this client's parser buffer (it changes nothing). */
export function leanParserFits(client: unknown): boolean {
  const parser = (client as ClientWithParser)._parser;
  return !!CheckedBufferList && !!parser?._list && parser._list.length === 0 && typeof parser._resetState === 'function';
}

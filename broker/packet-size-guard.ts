/**
 * Follows the MQTT framing of an incoming byte stream (fixed header: type byte, then the remaining length
 * as 1 to 4 bytes of 7 bits) and reports a packet announced larger than allowed, before any of it is buffered.
 */
export class PacketSizeGuard {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private headerBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /**
   * Returns why the stream breaks the limit or the framing, or null. `onPacketEnd`, when given, hears the offset
   * in `chunk` just past each packet that ends in it.
   */
  check(chunk: Buffer, onPacketEnd?: (offset: number) => void): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.bodyLeft, chunk.length - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) {
          this.state = 'type';
          onPacketEnd?.(i);
        }
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.headerBytes = 1;
        continue;
      }
      this.headerBytes += 1;
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (byte & 0x80) {
        if (this.headerBytes > 4) return 'malformed remaining length (more than 4 bytes)';
        continue;
      }
      if (this.length + this.headerBytes > this.maxPacketBytes) return `a packet of ${this.length + this.headerBytes} bytes (limit ${this.maxPacketBytes})`;
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
      if (this.length === 0) onPacketEnd?.(i);
    }
    return null;
  }
}

/**
 * A server-to-client WebSocket binary frame (RFC 6455 §5.2: FIN, opcode 2, unmasked) as one buffer, so a
 * delivery costs one socket write instead of ws's header-plus-data writev. The frame of the last buffer is
 * kept: with encode-once QoS 0 deliveries, every subscriber of a message flushes the very same buffer in
 * the same turn, and they all get the same frame.
 */
let lastData: Buffer | undefined;
let lastFrame: Buffer | undefined;

export function wsBinaryFrame(data: Buffer): Buffer {
  if (data === lastData) return lastFrame!;
  const length = data.length;
  const headerLength = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x82;
  if (length < 126) frame[1] = length;
  else if (length < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  data.copy(frame, headerLength);
  lastData = data;
  lastFrame = frame;
  return frame;
}

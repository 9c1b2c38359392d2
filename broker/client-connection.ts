import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { PacketSizeGuard } from './packet-size-guard';
import { wsBinaryFrame } from './ws-frame';

/** Per-connection bounds: what a client may send at once, and what the broker holds for one that reads slowly or not at all. */
export interface ConnectionLimits {
  /** Largest packet a client may send: a bigger one is refused before it is buffered. */
  maxPacketBytes?: number;
  /** Bytes queued for one client beyond which it is cut off at once. */
  maxQueuedBytes: number;
  /** How long a client may keep more than `stallBytes` queued before it is cut off. */
  stallTimeoutMs: number;
  stallBytes: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxQueuedBytes: 8 * 1024 * 1024,
  stallTimeoutMs: 10_000,
  stallBytes: 64 * 1024,
};

export type CutOffKind = 'slow' | 'oversize';
/** Told why a client is cut off; may return last words for an oversize one (an MQTT 5 DISCONNECT 0x95), sent before the transport ends. */
export type CutOffHandler = (reason: string, kind: CutOffKind) => Buffer | void;

/** How long a closing connection may take to send its last bytes before it is destroyed. */
const END_GRACE_MS = 2000;

/** The byte channel under a client connection: a TCP (or TLS) socket or a WebSocket. */
export interface Channel {
  send(data: Buffer): void;
  /** Bytes accepted but not yet handed to the network. */
  queuedBytes(): number;
  pause(): void;
  resume(): void;
  end(): void;
  destroy(): void;
}

/** A TCP (or TLS) socket as a Channel. Classes rather than closures: an idle connection costs less. */
class SocketChannel implements Channel {
  constructor(private readonly socket: Socket) {}
  send(data: Buffer): void {
    this.socket.write(data);
  }
  queuedBytes(): number {
    return this.socket.writableLength;
  }
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * A WebSocket as a Channel: each send is one whole binary frame, written on ws's own socket (one write, where
 * ws.send writes header and data apart) and without a callback per write (each costs a tick): the socket's
 * 'drain' tells when a client has caught up, as for TCP.
 */
class WebSocketChannel implements Channel {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Socket,
  ) {}
  send(data: Buffer): void {
    if (this.ws.readyState !== this.ws.OPEN) return; // as ws.send: nothing once the closing handshake has begun
    this.socket.write(wsBinaryFrame(data));
  }
  queuedBytes(): number {
    return this.ws.bufferedAmount;
  }
  pause(): void {
    this.ws.pause();
  }
  resume(): void {
    this.ws.resume();
  }
  end(): void {
    this.ws.close(1000);
  }
  destroy(): void {
    this.ws.terminate();
  }
}

/**
 * The stream Aedes reads MQTT from and writes MQTT to, between it and the real transport. It does two jobs:
 * - Writes made in one turn of the event loop leave as one network write: one WebSocket frame instead of one
 *   frame per piece of each packet (MQTT allows several packets in one frame), one TCP write instead of many.
 * - It never pushes back on Aedes. Aedes waits for a slow client's `drain` while holding one of the shared
 *   delivery slots, so one frozen subscriber stalls every other one; here the bytes queue per client instead,
 *   bounded: past `maxQueuedBytes`, or with more than `stallBytes` queued for `stallTimeoutMs`, the client is
 *   cut off and `onCutOff` says why. A client announcing a packet over `maxPacketBytes` is cut off too.
 *
 * Which slow-client rule applies: this one. Aedes 1.2 has its own `drainTimeout` (default 60 s, lib/client.js
 * `waitForDrain`): when `write()` to the connection returns false, Aedes waits for `drain` and destroys the
 * client if it does not come in time. Here `_write` calls back at once, so a write returns false only for a
 * packet bigger than the stream's highWaterMark, and `drain` follows on the next tick whatever the client does:
 * Aedes's timer never fires. The stall cut-off below (`stallTimeoutMs`, 10 s by default) is what ends a client
 * that stops reading.
 */
export class ClientConnection extends Duplex {
  private pending: Buffer[] = [];
  private flushScheduled = false;
  private stallTimer: ReturnType<typeof setTimeout> | undefined;
  private cutOffNow = false;
  private readonly guard: PacketSizeGuard | undefined;
  /**
   * What the client sent after its first packet (the CONNECT), held until the broker has accepted it
   * (`connectAccepted`): null once it has. MQTT lets a client send on without waiting for the CONNACK, but the
   * server must not act on it first (MQTT-3.1.4-5); Aedes 1.2 does act on a packet that arrives in a later read
   * before the login is done, unidentified.
   */
  private held: Buffer[] | null = [];
  private heldBytes = 0;
  private firstPacketSeen = false;

  constructor(
    private readonly channel: Channel,
    readonly remoteAddress: string | undefined,
    private readonly limits: ConnectionLimits,
    private readonly onCutOff: CutOffHandler,
  ) {
    super({ allowHalfOpen: false });
    this.guard = limits.maxPacketBytes ? new PacketSizeGuard(limits.maxPacketBytes) : undefined;
  }

  static fromSocket(socket: Socket, limits: ConnectionLimits, onCutOff: CutOffHandler): ClientConnection {
    const conn: ClientConnection = new ClientConnection(new SocketChannel(socket), socket.remoteAddress, limits, onCutOff);
    socket.on('data', (chunk: Buffer) => conn.incoming(chunk));
    socket.on('drain', () => conn.checkStall());
    socket.on('end', () => conn.push(null));
    socket.on('close', () => conn.destroy());
    socket.on('error', () => conn.destroy());
    return conn;
  }

  static fromWebSocket(ws: WebSocket, remoteAddress: string | undefined, limits: ConnectionLimits, onCutOff: CutOffHandler): ClientConnection {
    // ws's socket: set before ws hands over a connection (handleUpgrade), so always there.
    const socket = (ws as unknown as { _socket: Socket })._socket;
    const conn: ClientConnection = new ClientConnection(new WebSocketChannel(ws, socket), remoteAddress, limits, onCutOff);
    socket.on('drain', () => conn.checkStall());
    // ws hands over a Buffer of its own (binaryType nodebuffer): no copy needed.
    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => conn.incoming(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)));
    ws.on('close', () => {
      conn.push(null);
      conn.destroy();
    });
    ws.on('error', () => conn.destroy());
    return conn;
  }

  override _read(): void {
    if (this.held && this.firstPacketSeen) return; // reading resumes when the CONNECT is accepted
    this.channel.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.queue(chunk);
    callback();
  }

  /**
   * Queues one already encoded packet (the QoS 0 fast path, qos0-delivery.ts) without the stream machinery:
   * the same per-turn batching and the same bounds as what Aedes writes. Behind anything still held in the
   * stream (mqtt-packet corks it until the next tick), so packets leave in the order they were written.
   */
  writePacket(packet: Buffer): void {
    if (this.destroyed || this.writableEnded) return;
    if (this.writableCorked > 0 || this.writableLength > 0) this.write(packet);
    else this.queue(packet);
  }

  private queue(chunk: Buffer): void {
    this.pending.push(chunk);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      flushLater(this);
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    this.channel.end();
    callback();
  }

  /**
   * Aedes closes a client with destroy(), often right after its last packet (a CONNACK refusing it, say):
   * that packet still goes out, then the transport ends, and is destroyed if the peer does not let it end.
   * A client that is cut off is destroyed at once.
   */
  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.stallTimer);
    if (this.cutOffNow) {
      this.pending = [];
      this.channel.destroy();
    } else {
      if (this.pending.length > 0) this.channel.send(Buffer.concat(this.pending));
      this.pending = [];
      this.channel.end();
      setTimeout(() => this.channel.destroy(), END_GRACE_MS).unref();
    }
    callback(error);
  }

  private incoming(chunk: Buffer): void {
    if (this.destroyed) return;
    let firstEnd = -1;
    const tooBig = this.guard?.check(chunk, this.firstPacketSeen ? undefined : (at) => (firstEnd = firstEnd < 0 ? at : firstEnd));
    if (tooBig) return this.cutOff(`it sent ${tooBig}`, 'oversize');
    if (this.held && this.guard) {
      if (!this.firstPacketSeen) {
        if (firstEnd < 0) return this.pass(chunk);
        this.firstPacketSeen = true;
        this.pass(chunk.subarray(0, firstEnd));
        chunk = chunk.subarray(firstEnd);
        if (chunk.length === 0) return;
      }
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      // Read no more until the CONNECT is answered: what is held stays within about one packet.
      if (this.heldBytes >= (this.limits.maxPacketBytes ?? 0)) this.channel.pause();
      return;
    }
    this.pass(chunk);
  }

  private pass(chunk: Buffer): void {
    if (!this.push(chunk)) this.channel.pause();
  }

  /** The broker accepted the CONNECT: what the client sent after it goes to Aedes now, in order. */
  connectAccepted(): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    if (this.destroyed) return;
    // Reading goes on unless Aedes has its fill of what was held (then _read resumes it).
    const flowing = held.length === 0 || this.push(held.length === 1 ? held[0]! : Buffer.concat(held));
    if (flowing) this.channel.resume();
    else this.channel.pause();
  }

  /** Sends what this turn queued, as one write; called once per turn (flushLater) and when the stream ends. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.destroyed) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending.length = 0; // the same array every turn: one less allocation per connection per message
    this.channel.send(data);
    const queued = this.channel.queuedBytes();
    if (queued > this.limits.maxQueuedBytes) return this.cutOff(`${queued} bytes queued for it (limit ${this.limits.maxQueuedBytes})`, 'slow');
    this.checkStall();
  }

  /** Starts the stall clock when too much is queued; stops it once the client has caught up. */
  private checkStall(): void {
    const queued = this.channel.queuedBytes();
    if (queued <= this.limits.stallBytes) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    } else if (!this.stallTimer) {
      this.stallTimer = setTimeout(() => {
        // Unset either way: a client that caught up in time (without emptying its queue, so no 'drain') is
        // watched afresh the next time too much is queued for it, instead of never again.
        this.stallTimer = undefined;
        const still = this.channel.queuedBytes();
        if (still > this.limits.stallBytes) this.cutOff(`it read nothing of ${still} queued bytes for ${this.limits.stallTimeoutMs} ms`, 'slow');
      }, this.limits.stallTimeoutMs);
      this.stallTimer.unref();
    }
  }

  /** Ends the client at once, `onCutOff` told why (also for a client that piles up more than its caps elsewhere: receive-maximum.ts). */
  cutOff(reason: string, kind: CutOffKind): void {
    const lastWords = this.onCutOff(reason, kind);
    this.channel.pause();
    if (lastWords && kind === 'oversize') {
      // Nothing is waiting to be read by a client that sends too much: its last words go out, then the transport ends.
      this.pending.push(lastWords);
    } else {
      this.cutOffNow = true;
    }
    this.destroy();
  }
}

/**
 * Connections with bytes queued in this turn of the event loop: one setImmediate flushes them all, rather than
 * one per connection (a message to 200 subscribers queues on 200 connections in the same turn).
 */
let queued: ClientConnection[] = [];
function flushLater(conn: ClientConnection): void {
  if (queued.push(conn) === 1) setImmediate(flushQueued);
}
function flushQueued(): void {
  const now = queued;
  queued = [];
  for (const conn of now) conn.flush();
}

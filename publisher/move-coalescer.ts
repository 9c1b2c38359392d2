/**
 * Sends at most `hz` moves a second and always ends on the latest position: a move that comes too soon
 * waits, replaced by any newer one, until its slot. `hz` 0 sends every move.
 */
export class MoveCoalescer<T> {
  private lastSent = -Infinity;
  private pending: T | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  received = 0;
  sent = 0;

  constructor(
    private readonly hz: number,
    private readonly send: (move: T) => void,
  ) {}

  push(move: T): void {
    this.received += 1;
    if (this.hz <= 0) return this.emit(move);
    const wait = this.lastSent + 1000 / this.hz - Date.now();
    if (wait <= 0 && this.timer === undefined) return this.emit(move);
    this.pending = move;
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, wait));
  }

  /** Sends the waiting move now (before a click, so events leave in the order they happened). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const move = this.pending;
    this.pending = undefined;
    if (move !== undefined) this.emit(move);
  }

  /** Drops the waiting move and its timer. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }

  private emit(move: T): void {
    this.lastSent = Date.now();
    this.sent += 1;
    this.send(move);
  }
}

/** One change to the store: a value for a key, or null to delete the key. */
export type Change = [key: string, value: Buffer | null];

/** Writes one batch of changes durably (synced to disk) or rejects. */
export type WriteBatch = (changes: Change[]) => Promise<void>;

/**
 * Groups the store's writes: every change made within one event-loop turn goes to disk in one batch, with one
 * sync, and `durable()` resolves once the batch holding every change made so far is written. Batches go one at a
 * time, in order, so a later change to a key never lands before an earlier one. What an acknowledgement waits
 * for is `durable()`: a PUBACK, PUBREC or SUBACK goes out only after what it acknowledges is on disk.
 */
export class WriteGroup {
  /** Changes not yet handed to a batch; the last change to a key wins. */
  private pending = new Map<string, Buffer | null>();
  /** Resolves when the batch that will take `pending` is written. */
  private nextWritten: Promise<void> | null = null;
  /** The batch being written, if any; never rejects (a failure is kept in `failure`). */
  private writing: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  /** Set once the store closes: what changes after (a client's disconnect during shutdown) is not written. */
  private stopped = false;

  constructor(
    private readonly writeBatch: WriteBatch,
    /** Told once when a batch fails: the store cannot keep its promise any more. */
    private readonly onFailure: (error: Error) => void,
  ) {}

  put(key: string, value: Buffer): void {
    this.change(key, value);
  }

  delete(key: string): void {
    this.change(key, null);
  }

  /** Resolves when every change made so far is on disk (at once when none is waiting). */
  durable(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return (
      this.nextWritten ??
      this.writing.then(() => {
        if (this.failure) throw this.failure;
      })
    );
  }

  private change(key: string, value: Buffer | null): void {
    this.pending.delete(key); // keeps the order of last changes, so a batch writes them in the order they came
    this.pending.set(key, value);
    if (this.nextWritten || this.failure || this.stopped) return;
    // The batch starts at the end of this turn, after the one being written: everything changed until then joins it.
    this.nextWritten = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.writing)
      .then(() => this.writeWaiting());
    this.nextWritten.catch(() => {}); // a failure is reported through onFailure and durable()
  }

  /** Writes what is waiting, then nothing more (the database is about to close). */
  async stop(): Promise<void> {
    await this.durable().catch(() => {});
    this.stopped = true;
  }

  private writeWaiting(): Promise<void> {
    const changes = [...this.pending];
    this.pending = new Map();
    this.nextWritten = null;
    if (this.stopped) return Promise.resolve();
    const written = this.writeBatch(changes);
    this.writing = written.then(
      () => {},
      (error: Error) => {
        if (this.failure) return;
        this.failure = error;
        this.onFailure(error);
      },
    );
    return written;
  }
}

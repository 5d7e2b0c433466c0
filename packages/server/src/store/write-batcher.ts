/**
 * Groups small writes that arrive together into one transaction. In a reconnect storm every
 * arriving device reports at once; written one transaction each, with an audit entry on one chain,
 * the pooled connections queue on the chain head's row lock and everything else waits for a
 * connection. Batched, the lock is taken once per batch. Each caller's promise settles when its
 * batch has committed (or failed), so an acknowledgement still means the write is durable.
 */
export class WriteBatcher<T> {
  readonly #write: (items: T[]) => Promise<void>;
  readonly #maxItems: number;
  readonly #delayMs: number;
  #queue: { item: T; resolve(): void; reject(error: unknown): void }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #writing = false;

  constructor(write: (items: T[]) => Promise<void>, options: { maxItems?: number; delayMs?: number } = {}) {
    this.#write = write;
    this.#maxItems = options.maxItems ?? 200;
    this.#delayMs = options.delayMs ?? 10;
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#writing) return; // the batch after the one being written picks it up
      if (this.#queue.length >= this.#maxItems) void this.#flush();
      else if (!this.#timer) this.#timer = setTimeout(() => void this.#flush(), this.#delayMs);
    });
  }

  async #flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    // One batch at a time (group commit): batches written side by side would queue on the same
    // locks and hold a pooled connection each while they wait. What arrives during a write forms
    // the next batch, which starts as soon as this one committed.
    if (this.#writing) return;
    const batch = this.#queue.splice(0, this.#maxItems);
    if (batch.length === 0) return;
    this.#writing = true;
    try {
      await this.#write(batch.map((entry) => entry.item));
      for (const entry of batch) entry.resolve();
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      this.#writing = false;
    }
    if (this.#queue.length > 0) void this.#flush();
  }
}

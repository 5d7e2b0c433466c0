interface Waiter {
  rows: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: collects rows from many concurrent writers and commits them together, one
 * transaction per batch. A batch starts as soon as no commit is running (on the next turn of the
 * event loop, so that everything that arrived in the same I/O turn goes together); while a commit
 * runs, new rows wait and go in the next batch the moment it finishes. Under light load a reading
 * is committed at once, with no timer to wait for; under heavy load batches grow by themselves,
 * up to `maxRows`. Each `write` resolves only after the batch holding its rows committed, so the
 * MQTT gateway sends PUBACK only for telemetry that is durable (DESIGN.md, Storage), and a device's
 * endpoint report is acknowledged only once it and its audit entry are stored.
 *
 * A batch that fails to commit rejects every write in it (nothing of it is acknowledged; the
 * device sends it again) and the writer backs off: the next batch starts after a wait that
 * doubles per failed batch (`retryMs` up to `maxRetryMs`), with everything that arrived in the
 * meantime, so an outage costs one attempt per wait rather than a connect per message or, on
 * SQLite, an event loop blocked on a foreign lock once per message. A batch that commits after
 * the wait is acknowledged as usual.
 */
export class BatchWriter<T> {
  readonly #commit: (rows: T[]) => Promise<void>;
  readonly #maxRows: number;
  #rows: T[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  #failures = 0;
  #retryAt = 0;

  constructor(
    commit: (rows: T[]) => Promise<void>,
    options: { maxRows?: number; retryMs?: number; maxRetryMs?: number } = {},
  ) {
    this.#commit = commit;
    this.#maxRows = options.maxRows ?? 2000;
    this.#retryMs = options.retryMs ?? 100;
    this.#maxRetryMs = options.maxRetryMs ?? 2000;
  }

  /** Rows waiting for the next batch. */
  get pending(): number {
    return this.#rows.length;
  }

  write(rows: T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#rows.push(...rows);
      this.#waiters.push({ rows: rows.length, resolve, reject });
      if (this.#running || this.#scheduled) return; // the running commit starts the next batch
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#next();
      });
    });
  }

  /** Commits the waiting writes (whole writes, up to `maxRows`); then the next batch, if any. */
  #next(): void {
    if (this.#running || this.#scheduled || this.#waiters.length === 0) return;
    const wait = this.#retryAt - Date.now();
    if (wait > 0) {
      // Backing off after a failed batch: what waits goes in one batch when the wait is over.
      this.#scheduled = true;
      setTimeout(() => {
        this.#scheduled = false;
        this.#next();
      }, wait).unref();
      return;
    }
    // A write's rows never straddle two batches: one message, one commit, one PUBACK.
    let count = 0;
    let rowCount = 0;
    for (const waiter of this.#waiters) {
      if (count > 0 && rowCount + waiter.rows > this.#maxRows) break;
      rowCount += waiter.rows;
      count++;
    }
    const rows = this.#rows.splice(0, rowCount);
    const waiters = this.#waiters.splice(0, count);
    const running = this.#commit(rows).then(
      () => {
        this.#failures = 0;
        this.#retryAt = 0;
        for (const w of waiters) w.resolve();
      },
      (error: unknown) => {
        this.#failures += 1;
        this.#retryAt = Date.now() + Math.min(this.#maxRetryMs, this.#retryMs * 2 ** (this.#failures - 1));
        for (const w of waiters) w.reject(error);
      },
    );
    this.#running = running;
    void running.then(() => {
      this.#running = null;
      this.#next();
    });
  }

  /** Commits what is pending and waits until nothing is left (graceful stop). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.#running) await this.#running;
      else if (this.#scheduled) await new Promise((r) => setTimeout(r, 5));
      else if (this.#waiters.length > 0) this.#next();
      else return;
    }
  }
}

/**
 * Collects rows from many concurrent writers and commits them together, one transaction per
 * batch: a batch closes when it holds `maxRows` or `maxDelayMs` after its first row, whichever
 * comes first. Each `write` resolves only after the batch holding its rows committed, so the MQTT
 * gateway sends PUBACK only for telemetry that is durable (DESIGN.md, Storage).
 */
export class BatchWriter<T> {
  readonly #commit: (rows: T[]) => Promise<void>;
  readonly #maxRows: number;
  readonly #maxDelayMs: number;
  #rows: T[] = [];
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | null = null;
  #inFlight = new Set<Promise<void>>();

  constructor(commit: (rows: T[]) => Promise<void>, options: { maxRows?: number; maxDelayMs?: number } = {}) {
    this.#commit = commit;
    this.#maxRows = options.maxRows ?? 2000;
    this.#maxDelayMs = options.maxDelayMs ?? 5;
  }

  write(rows: T[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#rows.push(...rows);
      this.#waiters.push({ resolve, reject });
      if (this.#rows.length >= this.#maxRows) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#maxDelayMs);
    });
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#rows.length === 0) return;
    const rows = this.#rows;
    const waiters = this.#waiters;
    this.#rows = [];
    this.#waiters = [];
    const done = this.#commit(rows).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (error: unknown) => {
        for (const w of waiters) w.reject(error);
      },
    );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  /** Commits what is pending and waits for every batch in flight (graceful stop). */
  async drain(): Promise<void> {
    this.#flush();
    await Promise.all([...this.#inFlight]);
  }
}

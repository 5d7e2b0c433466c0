import { performance } from 'node:perf_hooks';
import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { dbNow, millis } from './db-time.js';

/** What a run of a lease-held job gets (docs/decisions/0029-jobs-once.md). */
export interface LeaseRun {
  readonly name: string;
  /** The fencing token of this run: one more than the run before it, on whichever node. */
  readonly token: number;
  /**
   * Aborted once this node can no longer be sure it holds the lease (a renewal failed or was
   * refused before its local deadline): a long job stops between steps.
   */
  readonly signal: AbortSignal;
  /**
   * Asks the database whether this run still holds the lease (same holder, same token, not
   * expired): call it right before an effect that must not happen twice.
   */
  stillHeld(): Promise<boolean>;
}

export type JobWork = (run: LeaseRun) => Promise<unknown>;

/** Runs periodic jobs on one node of the cluster at a time (`services.jobs`). */
export interface JobScheduler {
  /**
   * Runs `work` about every `ms`, on exactly one node at a time (by a lease in the database), until
   * the returned function is called. A run starts when the last one (on any node) started `ms` ago
   * and has ended, or when the last one died with its node; failures go to `onError` and count as
   * runs. `firstAfterMs` holds back the first attempt of this node (the deposit waits a minute).
   */
  every(
    name: string,
    ms: number,
    work: JobWork,
    onError: (error: unknown) => void,
    options?: { firstAfterMs?: number },
  ): () => void;
}

export interface LeaseTimings {
  /** How long a lease lasts without renewal: a dead holder's job moves after this. */
  ttlMs: number;
  /** How often a node asks for a job's lease at most (shorter for jobs of a shorter period). */
  pollMs: number;
}

export const defaultLeaseTimings: LeaseTimings = { ttlMs: 10_000, pollMs: 2_000 };

export interface LeaseDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  /** This process: `<node id>#<instance>` (cluster/nodes.ts). */
  holder: string;
  logger?: { warn(details: object, message: string): void };
}

/**
 * Leases in the `leases` table (migration 0028): one row per job; a node takes it with one
 * conditional upsert when it is free (expired or released) and due, renews it while the run
 * lasts, and releases it with the run's finish time. On SQLite the one node takes every lease by
 * the same statements. Times come from the database's clock (db-time.ts).
 */
export class JobLeases implements JobScheduler {
  readonly #deps: LeaseDeps;
  readonly #timings: LeaseTimings;

  constructor(deps: LeaseDeps, timings: Partial<LeaseTimings> = {}) {
    this.#deps = deps;
    this.#timings = { ...defaultLeaseTimings, ...timings };
    if (this.#timings.ttlMs < 3 * 50 || this.#timings.pollMs < 1)
      throw new Error('leases: ttlMs must be at least 150 and pollMs at least 1');
  }

  get holder(): string {
    return this.#deps.holder;
  }

  every(
    name: string,
    ms: number,
    work: JobWork,
    onError: (error: unknown) => void,
    options: { firstAfterMs?: number } = {},
  ): () => void {
    if (!(ms > 0)) throw new Error(`job ${name}: the period must be positive`);
    // A short job is asked for more often than its period, so it starts close to when it is due.
    const poll = Math.max(10, Math.min(this.#timings.pollMs, Math.floor(ms / 4)));
    let running = false;
    let stopped = false;
    const attempt = () => {
      if (running || stopped) return;
      running = true;
      this.tryRun(name, ms, work)
        .catch(onError)
        .finally(() => {
          running = false;
        });
    };
    let interval: NodeJS.Timeout | null = null;
    const begin = () => {
      if (stopped) return;
      interval = setInterval(attempt, poll);
      interval.unref();
    };
    let first: NodeJS.Timeout | null = null;
    if (options.firstAfterMs && options.firstAfterMs > 0) {
      first = setTimeout(() => {
        attempt();
        begin();
      }, options.firstAfterMs);
      first.unref();
    } else begin();
    return () => {
      stopped = true;
      if (first) clearTimeout(first);
      if (interval) clearInterval(interval);
    };
  }

  /**
   * Runs `work` once if this node gets the job's lease: resolves to whether it ran. A failure of
   * `work` is rethrown after the lease is released (the run still counts).
   */
  async tryRun(name: string, periodMs: number, work: JobWork): Promise<boolean> {
    const { db, dialect, holder } = this.#deps;
    const { ttlMs } = this.#timings;
    // A read first: most polls find the job held or not due, and a read costs no row lock or WAL.
    const current = await db
      .selectFrom('leases')
      .select(['expires_at', 'acquired_at', 'last_finished_at', dbNow(dialect).as('now')])
      .where('name', '=', name)
      .executeTakeFirst();
    if (current && !isFree(current, periodMs)) return false;
    const sentAt = performance.now();
    const now = dbNow(dialect);
    // Free and due, checked again in the statement itself, so two nodes racing here cannot both
    // win: the row lock (PostgreSQL) or the single writer (SQLite) orders them, and the second
    // finds it taken. The last run died with its node when it never finished (finished < acquired).
    const { rows } = await sql<{ token: number | string }>`
      insert into leases (name, holder, token, acquired_at, expires_at, last_finished_at)
      values (${name}, ${holder}, 1, ${now}, ${now} + ${ttlMs}, null)
      on conflict (name) do update set
        holder = excluded.holder,
        token = leases.token + 1,
        acquired_at = excluded.acquired_at,
        expires_at = excluded.expires_at
      where leases.expires_at <= excluded.acquired_at
        and (leases.last_finished_at is null
          or leases.last_finished_at < leases.acquired_at
          or leases.acquired_at + ${periodMs} <= excluded.acquired_at)
      returning token`.execute(db);
    const row = rows[0];
    if (!row) return false;
    const token = Number(row.token);
    const held = new HeldLease(this.#deps, name, token, ttlMs, sentAt);
    try {
      await work(held.run);
    } finally {
      await held.release();
    }
    return true;
  }
}

function isFree(
  lease: {
    expires_at: number | string;
    acquired_at: number | string;
    last_finished_at: number | string | null;
    now: number | string;
  },
  periodMs: number,
): boolean {
  const now = Number(lease.now);
  const expires = Number(lease.expires_at);
  const acquired = Number(lease.acquired_at);
  const finished = millis(lease.last_finished_at);
  if (expires > now) return false;
  return finished === null || finished < acquired || acquired + periodMs <= now;
}

/** A lease this process holds for one run: renewed at a third of its time, given up at the end. */
class HeldLease {
  readonly run: LeaseRun;
  readonly #deps: LeaseDeps;
  readonly #name: string;
  readonly #token: number;
  readonly #ttlMs: number;
  readonly #controller = new AbortController();
  readonly #renewal: NodeJS.Timeout;
  #deadline: NodeJS.Timeout | null = null;
  #renewing = false;

  constructor(deps: LeaseDeps, name: string, token: number, ttlMs: number, sentAt: number) {
    this.#deps = deps;
    this.#name = name;
    this.#token = token;
    this.#ttlMs = ttlMs;
    this.#armDeadline(sentAt);
    this.#renewal = setInterval(() => this.#renew(), Math.floor(ttlMs / 3));
    this.#renewal.unref();
    this.run = {
      name,
      token,
      signal: this.#controller.signal,
      stillHeld: () => this.#stillHeld(),
    };
  }

  /**
   * The database's expiry is its clock at the statement plus ttl, which is no earlier than our
   * sending time plus ttl: counting from when the request left (less a fifth for clocks that run
   * at different rates) this node gives up before any other node can take over.
   */
  #armDeadline(sentAt: number): void {
    if (this.#deadline) clearTimeout(this.#deadline);
    const remaining = sentAt + this.#ttlMs * 0.8 - performance.now();
    this.#deadline = setTimeout(() => this.#lose('not renewed in time'), Math.max(0, remaining));
    this.#deadline.unref();
  }

  #lose(reason: string): void {
    if (this.#controller.signal.aborted) return;
    this.#deps.logger?.warn({ job: this.#name, token: this.#token, reason }, 'job lease lost; the run stops');
    this.#controller.abort(new Error(`lease of ${this.#name} lost: ${reason}`));
    clearInterval(this.#renewal);
  }

  #renew(): void {
    if (this.#renewing || this.#controller.signal.aborted) return;
    this.#renewing = true;
    const sentAt = performance.now();
    const { db, dialect, holder } = this.#deps;
    const now = dbNow(dialect);
    db.updateTable('leases')
      .set({ expires_at: sql`${now} + ${this.#ttlMs}` })
      .where('name', '=', this.#name)
      .where('holder', '=', holder)
      .where('token', '=', this.#token)
      .where('expires_at', '>', now)
      .executeTakeFirst()
      .then(
        (result) => {
          if (Number(result.numUpdatedRows) === 1) this.#armDeadline(sentAt);
          else this.#lose('taken over or expired');
        },
        // A failed renewal is not a loss yet: the deadline decides.
        () => {},
      )
      .finally(() => {
        this.#renewing = false;
      });
  }

  async #stillHeld(): Promise<boolean> {
    if (this.#controller.signal.aborted) return false;
    const { db, dialect, holder } = this.#deps;
    const row = await db
      .selectFrom('leases')
      .select('token')
      .where('name', '=', this.#name)
      .where('holder', '=', holder)
      .where('token', '=', this.#token)
      .where('expires_at', '>', dbNow(dialect))
      .executeTakeFirst();
    return row !== undefined && !this.#controller.signal.aborted;
  }

  /** Ends the run: records its finish and frees the lease, unless another node has taken it since. */
  async release(): Promise<void> {
    clearInterval(this.#renewal);
    if (this.#deadline) clearTimeout(this.#deadline);
    const { db, dialect, holder } = this.#deps;
    const now = dbNow(dialect);
    try {
      await db
        .updateTable('leases')
        .set({ expires_at: now, last_finished_at: now })
        .where('name', '=', this.#name)
        .where('holder', '=', holder)
        .where('token', '=', this.#token)
        .execute();
    } catch (error) {
      // The lease then frees itself at its expiry; the next run only comes sooner.
      this.#deps.logger?.warn({ err: error, job: this.#name }, 'job lease not released');
    }
  }
}

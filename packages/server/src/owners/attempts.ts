import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';

/** A rate limit: at most `max` counted attempts of a kind per subject within `windowMs`. */
export interface Limit {
  kind: string;
  max: number;
  windowMs: number;
}

/**
 * Counted attempts in the database (not in one node's memory), so the limits hold across every
 * node behind the load balancer. Rows older than a day are pruned.
 */
export class Attempts {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;

  constructor(deps: { db: Kysely<Database>; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  /** Refuses with 429 when the subject has used up the limit; the message says when to retry. */
  async check(limit: Limit, subject: string, what: string): Promise<void> {
    const since = new Date(this.#clock.now().getTime() - limit.windowMs).toISOString();
    const row = await this.#db
      .selectFrom('owner_attempts')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('kind', '=', limit.kind)
      .where('subject', '=', subject)
      .where('at', '>', since)
      .executeTakeFirst();
    if (Number(row?.n ?? 0) >= limit.max)
      throw new DomainError(
        'rate-limited',
        `too many ${what}: at most ${limit.max} in ${Math.round(limit.windowMs / 60_000)} minutes; try again later`,
      );
  }

  async record(limit: Limit, subject: string, db: Executor = this.#db): Promise<void> {
    await db
      .insertInto('owner_attempts')
      .values({ kind: limit.kind, subject, at: this.#clock.now().toISOString() })
      .execute();
  }

  async prune(): Promise<number> {
    const cutoff = new Date(this.#clock.now().getTime() - 86_400_000).toISOString();
    const result = await this.#db.deleteFrom('owner_attempts').where('at', '<', cutoff).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

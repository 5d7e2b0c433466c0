import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database } from '../store/schema.js';

/**
 * A challenge id as it travels: 256 random bits, base64url. WebAuthn uses the id itself as the
 * challenge the authenticator signs (W3C WebAuthn §13.4.3 asks for at least 16 random bytes).
 */
export const CHALLENGE_ID_PATTERN = '^[A-Za-z0-9_-]{43}$';

export interface Challenge<T> {
  id: string;
  personId: string | null;
  data: T;
}

/**
 * Sign-in challenges in flight (WebAuthn, and OpenID Connect's state): kept in the database so
 * every node of a cluster can finish what another began, single use, short-lived.
 */
export class ChallengeStore {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;

  constructor(deps: { db: Kysely<Database>; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  /** Stores a challenge for `ttlMs`; expired ones are pruned on the way (no job needed). */
  async create<T>(purpose: string, personId: string | null, data: T, ttlMs: number): Promise<string> {
    await this.prune();
    const id = randomBytes(32).toString('base64url');
    await this.#db
      .insertInto('sign_in_challenges')
      .values({
        id,
        purpose,
        person_id: personId,
        data: JSON.stringify(data),
        expires_at: new Date(this.#clock.now().getTime() + ttlMs).toISOString(),
      })
      .execute();
    return id;
  }

  /**
   * Claims a challenge: the DELETE that removes it is the claim, so of two requests presenting the
   * same challenge at once exactly one gets it (single use, W3C WebAuthn §13.4.3). Unknown, used,
   * expired and other-purpose challenges all answer null; an expired one is removed as well.
   */
  async take<T>(purpose: string, id: string): Promise<Challenge<T> | null> {
    const row = await this.#db
      .selectFrom('sign_in_challenges')
      .selectAll()
      .where('id', '=', id)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
    if (!row) return null;
    const deleted = await this.#db
      .deleteFrom('sign_in_challenges')
      .where('id', '=', id)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) !== 1) return null;
    if (new Date(row.expires_at).getTime() <= this.#clock.now().getTime()) return null;
    return { id, personId: row.person_id, data: JSON.parse(row.data) as T };
  }

  /** Deletes the challenges that expired; returns how many. */
  async prune(): Promise<number> {
    const result = await this.#db
      .deleteFrom('sign_in_challenges')
      .where('expires_at', '<=', this.#clock.now().toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

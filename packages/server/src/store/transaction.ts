import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** Either the database or an open transaction; domain store functions accept both. */
export type Executor = Kysely<Database> | Transaction<Database>;

/** Runs `work` in one transaction: every row it writes lands, or none does. */
export function inTransaction<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(work);
}

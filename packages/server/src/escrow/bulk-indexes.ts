import { sql, type Transaction } from 'kysely';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';

/** Below this many rows, keeping the indexes costs less than rebuilding them. */
export const BULK_LOAD_ROWS = 10_000;

export interface DroppedIndex {
  name: string;
  /** The statement that creates it again, as the database reported it. */
  definition: string;
}

/**
 * Drops a table's secondary indexes before a bulk load, so the rows go in without index upkeep
 * and each index is built once afterwards from sorted data (what pg_restore does: data first,
 * then CREATE INDEX). Indexes that back a constraint (primary keys, UNIQUE constraints) stay: the
 * load relies on them to refuse a duplicate. Runs inside the restore's transaction: on either
 * dialect DDL is transactional, so a failed restore leaves no table without its indexes.
 */
export async function dropSecondaryIndexes(
  trx: Transaction<Database>,
  dialect: Dialect,
  table: string,
): Promise<DroppedIndex[]> {
  let indexes: DroppedIndex[];
  if (dialect === 'postgres') {
    const result = await sql<{ name: string; definition: string }>`
      select i.relname as name, pg_get_indexdef(i.oid) as definition
      from pg_index x
      join pg_class i on i.oid = x.indexrelid
      join pg_class t on t.oid = x.indrelid
      join pg_namespace n on n.oid = t.relnamespace
      where t.relname = ${table} and n.nspname = current_schema()
        and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)
      order by i.relname`.execute(trx);
    indexes = result.rows;
  } else {
    // Automatic indexes (primary keys, UNIQUE constraints) have no SQL of their own.
    const result = await sql<{ name: string; definition: string }>`
      select name, sql as definition from sqlite_master
      where type = 'index' and tbl_name = ${table} and sql is not null
      order by name`.execute(trx);
    indexes = result.rows;
  }
  for (const index of indexes) await sql`drop index ${sql.id(index.name)}`.execute(trx);
  return indexes;
}

/** Creates the indexes dropped before the load again, each in one pass over the loaded rows. */
export async function recreateIndexes(trx: Transaction<Database>, indexes: DroppedIndex[]): Promise<void> {
  for (const index of indexes) await sql.raw(index.definition).execute(trx);
}

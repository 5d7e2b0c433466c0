import { sql, type Transaction } from 'kysely';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';

/**
 * What was deleted, never the data: rows of `table` whose `scopeColumn` is `scopeValue` (an opaque
 * id), and, with a time column, whose time lies within [from, to]. GDPR Art. 17: the ledger lets a
 * restore of an older escrow deposit delete the same rows again (docs/data-rights.md).
 */
export interface Tombstone {
  reason: string;
  table: string;
  scopeColumn: string;
  scopeValue: string;
  time?: { column: string; from: string | number; to: string | number };
}

/** Writes tombstones in the deletion's transaction. */
export async function recordTombstones(trx: Executor, at: Date, tombstones: Tombstone[]): Promise<void> {
  for (let i = 0; i < tombstones.length; i += 500)
    await trx
      .insertInto('deletion_ledger')
      .values(
        tombstones.slice(i, i + 500).map((t) => ({
          id: newId('del', at),
          at: at.toISOString(),
          reason: t.reason,
          table_name: t.table,
          scope_column: t.scopeColumn,
          scope_value: t.scopeValue,
          time_column: t.time?.column ?? null,
          time_from: t.time === undefined ? null : String(t.time.from),
          time_to: t.time === undefined ? null : String(t.time.to),
        })),
      )
      .execute();
}

export const tombstoneOf = (row: Database['deletion_ledger']): Tombstone => ({
  reason: row.reason,
  table: row.table_name,
  scopeColumn: row.scope_column,
  scopeValue: row.scope_value,
  ...(row.time_column !== null
    ? { time: { column: row.time_column, from: row.time_from ?? '', to: row.time_to ?? '' } }
    : {}),
});

export interface LedgerColumns {
  /** Column names of each table, and whether each is numeric (times in milliseconds). */
  get(table: string): { name: string; numeric: boolean }[] | undefined;
}

/**
 * Deletes again what the tombstones name. A ledger read from a deposit is data, not code: a
 * tombstone naming a table or column the schema does not have is refused, never spliced into SQL.
 * Tables are taken children first (`order`, the deposit's insert order reversed) so no foreign key
 * stands in the way. Returns the rows deleted.
 */
export async function applyTombstones(
  trx: Transaction<Database>,
  tombstones: Tombstone[],
  columns: LedgerColumns,
  order: readonly string[],
): Promise<number> {
  const rank = (table: string) => -order.indexOf(table);
  let deleted = 0;
  for (const t of [...tombstones].sort((a, b) => rank(a.table) - rank(b.table))) {
    const cols = columns.get(t.table);
    const scope = cols?.find((c) => c.name === t.scopeColumn);
    const time = t.time ? cols?.find((c) => c.name === t.time?.column) : undefined;
    if (!cols || !order.includes(t.table) || !scope || (t.time && !time))
      throw new Error(
        `the deletion ledger names ${JSON.stringify(`${t.table}.${t.scopeColumn}`)}, which this schema does not have`,
      );
    const value = (v: string | number) => (time?.numeric ? Number(v) : String(v));
    let where = sql`${sql.ref(t.scopeColumn)} = ${t.scopeValue}`;
    if (t.time && time)
      where = sql`${where} and ${sql.ref(time.name)} >= ${value(t.time.from)} and ${sql.ref(time.name)} <= ${value(t.time.to)}`;
    const result = await sql`delete from ${sql.table(t.table)} where ${where}`.execute(trx);
    deleted += Number(result.numAffectedRows ?? 0);
  }
  return deleted;
}

import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * The `real` columns, widened to 8-byte floats on PostgreSQL. `real` is a 4-byte float there
 * (about 6 significant digits) but an 8-byte one in SQLite, so a rollout threshold or a severity
 * score written on SQLite came back rounded after a restore into PostgreSQL, although `escrow
 * verify` had said the deposit restores as it is (issue 14 §3, decision 0013). `double precision`
 * holds every JavaScript number exactly, as SQLite's `real` does. SQLite is left as it is: its
 * `real` already is 8 bytes, and the declared type is what deposits check values against.
 */
export const WIDENED: ReadonlyArray<readonly [table: string, column: string]> = [
  ['rollouts', 'success_threshold'],
  ['rollouts', 'failure_threshold'],
  ['vulnerabilities', 'severity_score'],
];

function isPostgres(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  for (const [table, column] of WIDENED)
    await db.schema
      .alterTable(table)
      .alterColumn(column, (c) => c.setDataType(sql`double precision`))
      .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  for (const [table, column] of WIDENED)
    await db.schema
      .alterTable(table)
      .alterColumn(column, (c) => c.setDataType('real'))
      .execute();
}

import type { Kysely } from 'kysely';

/**
 * Data rights (issue 18 §6; GDPR Art. 17, ETSI EN 303 645 5.11-1): a retention period per product
 * for telemetry (with device events) and for command history, null keeping them; and the deletion
 * ledger, whose tombstones name what was deleted (a table, an opaque key, a time range), never the
 * deleted data, so that a restore of an older escrow deposit can delete it again (docs/data-rights.md).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('products').addColumn('telemetry_retention_days', 'integer').execute();
  await db.schema.alterTable('products').addColumn('command_retention_days', 'integer').execute();
  await db.schema
    .createTable('deletion_ledger')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('at', 'text', (c) => c.notNull())
    // Why: owner.delete (an owner deleted their account).
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('table_name', 'text', (c) => c.notNull())
    // The rows: scope_column = scope_value (an opaque id), and, when time_column is set, its value
    // within [time_from, time_to] (inclusive; text as stored, numbers as decimal text).
    .addColumn('scope_column', 'text', (c) => c.notNull())
    .addColumn('scope_value', 'text', (c) => c.notNull())
    .addColumn('time_column', 'text')
    .addColumn('time_from', 'text')
    .addColumn('time_to', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('deletion_ledger').execute();
  await db.schema.alterTable('products').dropColumn('command_retention_days').execute();
  await db.schema.alterTable('products').dropColumn('telemetry_retention_days').execute();
}

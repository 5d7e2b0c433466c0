import type { Kysely } from 'kysely';

/**
 * Patch and support metrics over time (issue 21 §4). Which release each device ran on a past day
 * is not kept anywhere else (devices hold only the firmware they report now), so a daily job
 * writes the day's figures per product and per brand here; "now" is computed live.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('security_metric_snapshots')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('scope_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('devices', 'integer', (c) => c.notNull())
    .addColumn('supported', 'integer', (c) => c.notNull())
    .addColumn('newest_security', 'integer', (c) => c.notNull())
    .addColumn('kev_exposed', 'integer', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('security_metric_snapshots_pk', ['org_id', 'scope', 'scope_id', 'day'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('security_metric_snapshots').execute();
}

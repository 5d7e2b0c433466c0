import type { Kysely } from 'kysely';

/**
 * The outbox of events for people and systems outside (issue 18): notifications by e-mail and
 * webhooks read it, each from its own cursor. Ids sort by time (ids.ts), so `id > cursor` reads in
 * order; the index serves an organisation's own list.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('outbound_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('outbound_events_org')
    .on('outbound_events')
    .columns(['org_id', 'id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('outbound_events').execute();
}

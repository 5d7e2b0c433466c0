import type { Kysely } from 'kysely';

/**
 * Continuity (continuity issue): signed endpoint records that move devices to a successor or into
 * local mode, and where each device stands with them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('endpoint_records')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    /** JSON list of product ids, or null for every product. */
    .addColumn('products', 'text')
    .addColumn('document', 'text', (c) => c.notNull())
    /** Sunset records: the end-of-support notice (CRA Art. 13(23)) as JSON `{message}`. */
    .addColumn('notice', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('endpoint_records_pk', ['org_id', 'version'])
    .execute();
  // The last record a device reported on, and what it did: moving (left this server), arrived
  // (connected here under it), local, refused.
  await db.schema.alterTable('devices').addColumn('endpoint_version', 'integer').execute();
  await db.schema.alterTable('devices').addColumn('endpoint_status', 'text').execute();
  await db.schema.alterTable('devices').addColumn('endpoint_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('devices').dropColumn('endpoint_at').execute();
  await db.schema.alterTable('devices').dropColumn('endpoint_status').execute();
  await db.schema.alterTable('devices').dropColumn('endpoint_version').execute();
  await db.schema.dropTable('endpoint_records').execute();
}

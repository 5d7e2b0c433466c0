import type { Kysely } from 'kysely';

/**
 * Sharing, transfer and owner local mode (issue 18 §1, §7). Invitations of household members to a
 * device (a hash of the link's secret, single use, with expiry), and the signed local-mode record
 * an owner asked for one device (the same endpoint record a sunset publishes, scoped to the device).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_share_invitations')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('invited_by', 'text', (c) => c.notNull().references('owners.id').onDelete('cascade'))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  await db.schema
    .createIndex('device_share_invitations_device')
    .on('device_share_invitations')
    .column('device_id')
    .execute();
  await db.schema
    .createTable('owner_local_mode')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('owner_local_mode').execute();
  await db.schema.dropTable('device_share_invitations').execute();
}

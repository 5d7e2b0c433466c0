import { type Kysely, sql } from 'kysely';

/**
 * Each organisation's evidence signing key (issue 21 §1: "a manifest signed by the
 * organisation's key"). Ed25519; the private half sealed under the master key like the online TUF
 * keys. A rotation retires the old row and keeps it, with the statement the old key signed, so
 * packs signed before a rotation still verify against the key a verifier pinned.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('org_signing_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull().unique())
    .addColumn('private_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('retired_at', 'text')
    // The KeyRotation (JSON) from the previous key to this one; null for an organisation's first key.
    .addColumn('rotation', 'text')
    .execute();
  // At most one key in use per organisation: two servers creating the first key at once collide here.
  await db.schema
    .createIndex('org_signing_keys_current')
    .on('org_signing_keys')
    .column('org_id')
    .unique()
    .where(sql.ref('retired_at'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('org_signing_keys').execute();
}

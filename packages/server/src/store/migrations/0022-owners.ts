import { type Kysely, sql } from 'kysely';

/**
 * Owners (issue 18 §1): the people who bought the devices, apart from the maker's staff. Their
 * accounts, the devices they hold (a role per device: `owner` now, `user` and `guest` when sharing
 * comes), each device's claim code (a hash only; single use), and what stays on this server only:
 * owner sessions, one-time sign-in links (hashes) and the attempts the rate limits count.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('owners')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_sign_in_at', 'text')
    .execute();
  await db.schema
    .createTable('device_claim_codes')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    // SHA-256 of the normalised code: the code itself is shown once, at provisioning or reissue.
    .addColumn('code_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  await db.schema
    .createTable('device_owners')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('owner_id', 'text', (c) => c.notNull().references('owners.id').onDelete('cascade'))
    // owner | user | guest (user and guest come with sharing).
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_owners_pk', ['device_id', 'owner_id'])
    .execute();
  // One owner per device, enforced by the database as well as by the claim's transaction.
  await db.schema
    .createIndex('device_owners_one_owner')
    .on('device_owners')
    .column('device_id')
    .unique()
    .where(sql.ref('role'), '=', sql.lit('owner'))
    .execute();
  await db.schema.createIndex('device_owners_owner').on('device_owners').columns(['owner_id']).execute();
  await db.schema
    .createTable('owner_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('handle', 'text', (c) => c.notNull().unique())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('owners.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createTable('owner_sign_in_links')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .execute();
  // What the rate limits count: sign-in links asked for (per address and per e-mail), wrong claim
  // codes (per owner and per address). Rows older than a day are pruned.
  await db.schema
    .createTable('owner_attempts')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('owner_attempts_lookup')
    .on('owner_attempts')
    .columns(['kind', 'subject', 'at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'owner_attempts',
    'owner_sign_in_links',
    'owner_sessions',
    'device_owners',
    'device_claim_codes',
    'owners',
  ])
    await db.schema.dropTable(table).execute();
}

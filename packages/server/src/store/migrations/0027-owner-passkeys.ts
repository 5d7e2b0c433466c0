import type { Kysely } from 'kysely';

/**
 * Owners' passkeys (issue 18 §1: "passkey or e-mail link sign-in"): a table of their own, never
 * the staff `passkeys` table, so a staff credential can never sign in an owner nor the reverse.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('owner_passkeys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** The WebAuthn credential id, base64url. */
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('owners.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'text')
    /** The relying party id (domain) it is bound to: after a takeover under a new domain it cannot work. */
    .addColumn('rp_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema.createIndex('owner_passkeys_owner').on('owner_passkeys').columns(['owner_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('owner_passkeys').execute();
}

import type { Kysely } from 'kysely';

/**
 * What owners must be told (issue 18 §3; CRA Annex II, ETSI EN 303 645 5.3-13): each owner's
 * notices (support period, update available and installed, end of support ahead, sunset) with
 * their e-mail state, and the language an owner reads them in.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // English unless the browser said otherwise at sign-up, or the owner changes it.
  await db.schema
    .alterTable('owners')
    .addColumn('language', 'text', (c) => c.notNull().defaultTo('en'))
    .execute();
  await db.schema
    .createTable('owner_notices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner_id', 'text', (c) => c.notNull().references('owners.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull())
    // Null for notices about a product as a whole (support period changed, sunset).
    .addColumn('device_id', 'text')
    // What makes two notices the same (kind, product or device, date or version): one per owner.
    .addColumn('dedupe_key', 'text', (c) => c.notNull())
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    // The facts as JSON (dates, versions, links), for apps that render their own text.
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('read_at', 'text')
    // pending | sending | sent | failed | off (no SMTP server) | muted (no longer holds the device)
    .addColumn('email_status', 'text', (c) => c.notNull())
    .addColumn('email_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('email_next_at', 'text')
    .addColumn('email_sent_at', 'text')
    .addColumn('email_error', 'text')
    .addUniqueConstraint('owner_notices_once', ['owner_id', 'dedupe_key'])
    .execute();
  await db.schema
    .createIndex('owner_notices_owner')
    .on('owner_notices')
    .columns(['owner_id', 'id'])
    .execute();
  await db.schema
    .createIndex('owner_notices_mail')
    .on('owner_notices')
    .columns(['email_status', 'email_next_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('owner_notices').execute();
  await db.schema.alterTable('owners').dropColumn('language').execute();
}

import type { Kysely } from 'kysely';

/**
 * A product's own maximum message size after CONNECT (issue 14 §4, "a maximum packet size … after
 * it (per product)"): null means the gateway's global limit.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('products').addColumn('max_message_bytes', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('products').dropColumn('max_message_bytes').execute();
}

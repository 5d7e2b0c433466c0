import type { Kysely } from 'kysely';

/**
 * Signed updates (issue 14): why an install failed, in the device's own words, next to the
 * machine-readable reason, in the device's history and in its rollout.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('update_reports').addColumn('message', 'text').execute();
  await db.schema.alterTable('rollout_devices').addColumn('message', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rollout_devices').dropColumn('message').execute();
  await db.schema.alterTable('update_reports').dropColumn('message').execute();
}

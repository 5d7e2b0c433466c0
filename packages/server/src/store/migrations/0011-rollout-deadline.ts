import type { Kysely } from 'kysely';

/**
 * A rollout may carry a deadline: when it passes, the rollout completes with the devices that have
 * not updated by then (typically offline ones) left out, instead of staying open forever.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rollouts').addColumn('deadline_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('rollouts').dropColumn('deadline_at').execute();
}

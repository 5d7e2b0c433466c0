import type { Kysely } from 'kysely';

/**
 * Many nodes, one fleet (issue 19 §2, §3; docs/decisions/0029-jobs-once.md): the nodes serving
 * now, each with a heartbeat, and the leases that let one node at a time run a periodic job.
 * Times are milliseconds since the epoch taken from the database's clock on PostgreSQL, so the
 * nodes' own clocks never need to agree. Both are runtime state: not deposited (escrow/tables.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('nodes')
    /** config `cluster.nodeId`; devices.connected_node names it. */
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** Random per process: a second process under the same id is told apart (and warned). */
    .addColumn('instance', 'text', (c) => c.notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen', 'bigint', (c) => c.notNull())
    /** Where it serves (host:port), for operators. */
    .addColumn('address', 'text')
    .addColumn('version', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('leases')
    /** The job's name (`rollouts`, `presence-reaper`, …). */
    .addColumn('name', 'text', (c) => c.primaryKey())
    /** The process running it: `<node id>#<instance>`. */
    .addColumn('holder', 'text', (c) => c.notNull())
    /** Fencing token: one more at every acquisition, so a late write of an old run can be told apart. */
    .addColumn('token', 'bigint', (c) => c.notNull())
    .addColumn('acquired_at', 'bigint', (c) => c.notNull())
    /** Free from then on; renewed while the run lasts, set to the finish time when it ends. */
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    /** When the last run ended: the next is due a period later, whichever node takes it. */
    .addColumn('last_finished_at', 'bigint')
    .execute();
  // The presence reaper clears a dead node's devices by this column (cluster/reaper.ts).
  await db.schema.createIndex('devices_connected_node').on('devices').column('connected_node').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('devices_connected_node').execute();
  await db.schema.dropTable('leases').execute();
  await db.schema.dropTable('nodes').execute();
}

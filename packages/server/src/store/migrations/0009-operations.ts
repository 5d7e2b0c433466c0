import type { Kysely } from 'kysely';

/**
 * Operations (issue 14, section 5): telemetry receipts, so that a message a device sends again
 * after a lost PUBACK is stored once (docs/protocol.md, "Telemetry"), and one heartbeat row per
 * node, the committed write that /readyz makes (docs/operations.md, "Readiness").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('telemetry_receipts')
    .addColumn('device_id', 'text', (c) => c.notNull())
    /** The device's message id (`m:` + id), or a digest of a fully timed message (`h:` + hex). */
    .addColumn('message_key', 'text', (c) => c.notNull())
    /** Milliseconds since the epoch; receipts older than the deduplication window are pruned. */
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('telemetry_receipts_pk', ['device_id', 'message_key'])
    .execute();
  await db.schema
    .createIndex('telemetry_receipts_received_at')
    .on('telemetry_receipts')
    .column('received_at')
    .execute();
  await db.schema
    .createTable('node_heartbeats')
    .addColumn('node_id', 'text', (c) => c.primaryKey())
    .addColumn('checked_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('node_heartbeats').execute();
  await db.schema.dropTable('telemetry_receipts').execute();
}

import type { Kysely } from 'kysely';

/** Signed updates (updates issue): the TUF repository, artifacts, releases, rollouts, device reports. */
export async function up(db: Kysely<unknown>): Promise<void> {
  // The server's online keys (snapshot, timestamp), sealed with the master key. Root and targets
  // keys are never here: they stay with the maker (TUF 6.1, offline keys).
  await db.schema
    .createTable('tuf_online_keys')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('keyid', 'text', (c) => c.notNull())
    .addColumn('public_hex', 'text', (c) => c.notNull())
    .addColumn('private_sealed', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tuf_online_keys_pk', ['org_id', 'role'])
    .execute();

  // Every version of every role's metadata, byte for byte as served: clients fetch old roots
  // (TUF 5.3.3) and consistent snapshots by version.
  await db.schema
    .createTable('tuf_metadata')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('expires', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('tuf_metadata_pk', ['org_id', 'role', 'version'])
    .execute();

  // The targets metadata waiting for the maker's offline signatures; at most one per organisation.
  await db.schema
    .createTable('tuf_targets_drafts')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id').onDelete('restrict'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('release_ids', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('artifacts')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('length', 'bigint', (c) => c.notNull())
    .addColumn('media_type', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('artifacts_pk', ['org_id', 'sha256'])
    .execute();

  await db.schema
    .createTable('releases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('restrict'))
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('security_version', 'integer', (c) => c.notNull())
    .addColumn('hardware', 'text', (c) => c.notNull())
    .addColumn('notes', 'text', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('target_path', 'text', (c) => c.notNull())
    .addColumn('artifact_sha256', 'text', (c) => c.notNull())
    .addColumn('artifact_length', 'bigint', (c) => c.notNull())
    .addColumn('sbom_sha256', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('published_at', 'text')
    .addUniqueConstraint('releases_product_version', ['product_id', 'version'])
    .execute();

  await db.schema
    .createTable('rollouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id').onDelete('restrict'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('selector', 'text', (c) => c.notNull())
    .addColumn('waves', 'text', (c) => c.notNull())
    .addColumn('success_threshold', 'real', (c) => c.notNull())
    .addColumn('failure_threshold', 'real', (c) => c.notNull())
    .addColumn('soak_seconds', 'integer', (c) => c.notNull())
    .addColumn('pace_per_minute', 'integer')
    .addColumn('window', 'text')
    .addColumn('max_deferral_seconds', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('current_wave', 'integer', (c) => c.notNull())
    .addColumn('wave_started_at', 'text')
    .addColumn('wave_completed_at', 'text')
    .addColumn('status_reason', 'text')
    .addColumn('failures_acknowledged', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  await db.schema.createIndex('rollouts_org_status').on('rollouts').columns(['org_id', 'status']).execute();

  await db.schema
    .createTable('rollout_devices')
    .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id').onDelete('cascade'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('wave', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('offers', 'integer', (c) => c.notNull())
    .addColumn('offered_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .addPrimaryKeyConstraint('rollout_devices_pk', ['rollout_id', 'device_id'])
    .execute();
  await db.schema
    .createIndex('rollout_devices_wave_state')
    .on('rollout_devices')
    .columns(['rollout_id', 'wave', 'state'])
    .execute();
  await db.schema.createIndex('rollout_devices_device').on('rollout_devices').column('device_id').execute();

  // Every step a device reported, in order: the per-device history behind the rollout's counts.
  await db.schema
    .createTable('update_reports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('rollout_id', 'text')
    .addColumn('release_id', 'text')
    .addColumn('step', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('time', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('update_reports_device')
    .on('update_reports')
    .columns(['device_id', 'id'])
    .execute();

  // The anti-rollback floor the device reported with its firmware version (TUF custom field).
  await db.schema.alterTable('devices').addColumn('security_version', 'integer').execute();
}

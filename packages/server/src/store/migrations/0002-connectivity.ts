import { type Kysely, sql } from 'kysely';

/** Device credentials and telemetry (connectivity issue). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('device_credentials_device')
    .on('device_credentials')
    .column('device_id')
    .execute();

  // Presence: whether the device holds a connection, and to which node (several nodes share a
  // PostgreSQL database). last_seen_at already exists on devices.
  await db.schema
    .alterTable('devices')
    .addColumn('online', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('devices').addColumn('connected_node', 'text').execute();

  // The twin: desired state (set by people and services) and reported state (sent by the device),
  // each with a version that increases by one with every change.
  await db.schema
    .createTable('device_twins')
    .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('desired', 'text', (c) => c.notNull())
    .addColumn('desired_version', 'integer', (c) => c.notNull())
    .addColumn('reported', 'text', (c) => c.notNull())
    .addColumn('reported_version', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('commands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('idempotency_key', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'text')
    .addColumn('completed_at', 'text')
    .addColumn('result', 'text')
    .execute();
  await db.schema
    .createIndex('commands_device_status')
    .on('commands')
    .columns(['device_id', 'status', 'id'])
    .execute();
  await db.schema
    .createIndex('commands_status_expiry')
    .on('commands')
    .columns(['status', 'expires_at'])
    .execute();
  await db.schema
    .createIndex('commands_idempotency')
    .on('commands')
    .columns(['device_id', 'idempotency_key'])
    .unique()
    .where(sql.ref('idempotency_key'), 'is not', null)
    .execute();

  // One row per field value: the shape every later query (series, aggregates, retention) wants.
  await db.schema
    .createTable('telemetry')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('field', 'text', (c) => c.notNull())
    .addColumn('ts', 'bigint', (c) => c.notNull())
    .addColumn('num_value', sql`double precision`)
    .addColumn('text_value', 'text')
    .execute();
  await db.schema
    .createIndex('telemetry_device_field_ts')
    .on('telemetry')
    .columns(['device_id', 'field', 'ts'])
    .execute();
  await db.schema.createIndex('telemetry_ts').on('telemetry').column('ts').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('commands').execute();
  await db.schema.dropTable('device_twins').execute();
  await db.schema.alterTable('devices').dropColumn('connected_node').execute();
  await db.schema.alterTable('devices').dropColumn('online').execute();
  await db.schema.dropTable('telemetry').execute();
  await db.schema.dropTable('device_credentials').execute();
}

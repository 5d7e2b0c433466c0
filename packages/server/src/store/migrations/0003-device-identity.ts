import type { Kysely } from 'kysely';

/** Device certificates, the organisation's device CA, device events (connectivity issue, part 2). */
export async function up(db: Kysely<unknown>): Promise<void> {
  // A certificate credential is identified by the SHA-256 of its DER encoding: the registry, not
  // a CRL, decides whether it is live, so revocation takes effect at the next handshake.
  await db.schema.alterTable('device_credentials').addColumn('fingerprint', 'text').execute();
  await db.schema.alterTable('device_credentials').addColumn('not_after', 'text').execute();
  await db.schema
    .createIndex('device_credentials_fingerprint')
    .on('device_credentials')
    .column('fingerprint')
    .execute();

  // One device CA per organisation. Its private key is sealed with the node's master key
  // (AES-256-GCM), so the database alone, or a dump of it, never holds a usable CA key.
  await db.schema
    .createTable('device_cas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) =>
      c.notNull().unique().references('organizations.id').onDelete('restrict'),
    )
    .addColumn('cert_pem', 'text', (c) => c.notNull())
    .addColumn('key_sealed', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('not_after', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('device_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('time', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('received_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('device_events_device_time')
    .on('device_events')
    .columns(['device_id', 'time', 'id'])
    .execute();
}

import type { Kysely } from 'kysely';

/**
 * The fleet overview (fleet/overview.ts) groups an organisation's devices by product, firmware
 * version and presence. With only (org_id, id) every device row is read from the table: ~400 ms
 * at 100,000 devices on SQLite here. This index holds every column those queries touch, so the
 * grouped scan, the never-seen count and the exposed-device count read the index alone (~65 ms,
 * same machine and load; docs/benchmarks.md "Console: device list").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('devices_org_fleet')
    .on('devices')
    .columns(['org_id', 'product_id', 'firmware_version', 'online', 'deleted_at', 'last_seen_at'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('devices_org_fleet').execute();
}

import { type Kysely, sql } from 'kysely';

/** The fleet registry, access tokens and the audit chain (issue 2). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('slug', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('brands')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('responsible_party', 'text', (c) => c.notNull())
    .addColumn('security_contact', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('brands_org_name_unique', ['org_id', 'name'])
    .execute();

  await db.schema
    .createTable('products')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('model_number', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('hardware_revision', 'text', (c) => c.notNull())
    .addColumn('placed_on_market', 'text')
    .addColumn('support_ends', 'text', (c) => c.notNull())
    .addColumn('capabilities', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('products_org_model_rev_unique', ['org_id', 'model_number', 'hardware_revision'])
    .execute();

  await db.schema
    .createTable('product_brands')
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('cascade'))
    .addColumn('brand_id', 'text', (c) => c.notNull().references('brands.id').onDelete('restrict'))
    .addPrimaryKeyConstraint('product_brands_pk', ['product_id', 'brand_id'])
    .execute();
  await db.schema.createIndex('product_brands_brand').on('product_brands').column('brand_id').execute();

  await db.schema
    .createTable('devices')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('restrict'))
    .addColumn('brand_id', 'text', (c) => c.references('brands.id').onDelete('restrict'))
    .addColumn('serial', 'text', (c) => c.notNull())
    .addColumn('hardware_id', 'text')
    .addColumn('firmware_version', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('claim_state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text')
    .addColumn('deleted_at', 'text')
    .execute();
  // A serial is unique per product among devices that are not deleted: a decommissioned
  // device's serial can be re-registered (partial index, supported by both dialects).
  await db.schema
    .createIndex('devices_product_serial_live')
    .on('devices')
    .columns(['product_id', 'serial'])
    .unique()
    .where(sql.ref('deleted_at'), 'is', null)
    .execute();
  await db.schema.createIndex('devices_org_id').on('devices').columns(['org_id', 'id']).execute();
  await db.schema.createIndex('devices_org_serial').on('devices').columns(['org_id', 'serial']).execute();

  await db.schema
    .createTable('device_tags')
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('tag', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('device_tags_pk', ['device_id', 'tag'])
    .execute();
  await db.schema.createIndex('device_tags_tag').on('device_tags').columns(['tag', 'device_id']).execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.references('organizations.id').onDelete('restrict'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('audit_entries')
    .addColumn('chain', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull().unique())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target_type', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('audit_entries_pk', ['chain', 'seq'])
    .execute();

  await db.schema
    .createTable('audit_heads')
    .addColumn('chain', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'audit_heads',
    'audit_entries',
    'api_tokens',
    'device_tags',
    'devices',
    'product_brands',
    'products',
    'brands',
    'organizations',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}

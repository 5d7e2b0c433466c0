import type { Kysely } from 'kysely';

/**
 * Vulnerability handling (vulnerabilities issue): SBOMs per release, vulnerability records from
 * OSV/NVD/CSAF, the KEV catalog, matches, VEX triage, device exposure, CRA Art. 14 report cases,
 * CSAF advisories and disclosure intake. Vulnerability records and KEV are public data shared by
 * every organisation; everything derived from an organisation's SBOMs carries its org_id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // security.txt (RFC 9116) and the CSAF publisher need the organisation's contact and policy.
  await db.schema.alterTable('organizations').addColumn('security_contact', 'text').execute();
  await db.schema.alterTable('organizations').addColumn('security_policy', 'text').execute();

  await db.schema
    .createTable('sboms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('restrict'))
    .addColumn('release_id', 'text', (c) =>
      c.notNull().unique().references('releases.id').onDelete('restrict'),
    )
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('spec_version', 'text', (c) => c.notNull())
    .addColumn('serial_number', 'text')
    .addColumn('document_sha256', 'text', (c) => c.notNull())
    .addColumn('component_count', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('sboms_org').on('sboms').columns(['org_id', 'product_id']).execute();

  await db.schema
    .createTable('sbom_components')
    .addColumn('sbom_id', 'text', (c) => c.notNull().references('sboms.id').onDelete('cascade'))
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('bom_ref', 'text')
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text')
    .addColumn('purl', 'text')
    .addColumn('cpe', 'text')
    .addColumn('hashes', 'text', (c) => c.notNull())
    .addColumn('supplier', 'text')
    .addPrimaryKeyConstraint('sbom_components_pk', ['sbom_id', 'idx'])
    .execute();

  // One row per way a component can be looked up (its purl, its source package, its CPE).
  await db.schema
    .createTable('sbom_component_keys')
    .addColumn('sbom_id', 'text', (c) => c.notNull().references('sboms.id').onDelete('cascade'))
    .addColumn('component_idx', 'integer', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('scheme', 'text', (c) => c.notNull())
    .addColumn('distro', 'text')
    .execute();
  await db.schema.createIndex('sbom_component_keys_key').on('sbom_component_keys').column('key').execute();
  await db.schema
    .createIndex('sbom_component_keys_sbom')
    .on('sbom_component_keys')
    .column('sbom_id')
    .execute();

  await db.schema
    .createTable('vulnerabilities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('canonical_id', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('modified', 'text', (c) => c.notNull())
    .addColumn('published', 'text')
    .addColumn('withdrawn', 'text')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('aliases', 'text', (c) => c.notNull())
    .addColumn('severity_rating', 'text')
    .addColumn('severity_score', 'real')
    .addColumn('severity_vector', 'text')
    .addColumn('reference_urls', 'text', (c) => c.notNull())
    .addColumn('imported_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('vulnerabilities_canonical')
    .on('vulnerabilities')
    .column('canonical_id')
    .execute();

  await db.schema
    .createTable('vulnerability_ids')
    .addColumn('alias', 'text', (c) => c.notNull())
    .addColumn('vuln_id', 'text', (c) => c.notNull().references('vulnerabilities.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('vulnerability_ids_pk', ['alias', 'vuln_id'])
    .execute();
  await db.schema.createIndex('vulnerability_ids_vuln').on('vulnerability_ids').column('vuln_id').execute();

  await db.schema
    .createTable('vulnerability_affected')
    .addColumn('vuln_id', 'text', (c) => c.notNull().references('vulnerabilities.id').onDelete('cascade'))
    .addColumn('idx', 'integer', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('scheme', 'text', (c) => c.notNull())
    .addColumn('distro', 'text')
    .addColumn('intervals', 'text', (c) => c.notNull())
    .addColumn('versions', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('vulnerability_affected_pk', ['vuln_id', 'idx'])
    .execute();
  await db.schema
    .createIndex('vulnerability_affected_key')
    .on('vulnerability_affected')
    .column('key')
    .execute();

  await db.schema
    .createTable('known_exploited')
    .addColumn('cve_id', 'text', (c) => c.primaryKey())
    .addColumn('vendor', 'text', (c) => c.notNull())
    .addColumn('product', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('date_added', 'text', (c) => c.notNull())
    .addColumn('due_date', 'text')
    .addColumn('ransomware', 'text', (c) => c.notNull())
    .addColumn('required_action', 'text', (c) => c.notNull())
    .addColumn('catalog_version', 'text', (c) => c.notNull())
    .addColumn('imported_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('vulnerability_matches')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('sbom_id', 'text', (c) => c.notNull().references('sboms.id').onDelete('cascade'))
    .addColumn('component_idx', 'integer', (c) => c.notNull())
    .addColumn('vuln_id', 'text', (c) => c.notNull().references('vulnerabilities.id').onDelete('cascade'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('matched_by', 'text', (c) => c.notNull())
    .addColumn('affected_summary', 'text', (c) => c.notNull())
    .addColumn('first_matched_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('vulnerability_matches_pk', ['sbom_id', 'component_idx', 'vuln_id'])
    .execute();
  await db.schema
    // One index serves both "matches of these records" and "… in this organisation": every
    // index costs on each of the hundreds of thousands of rows a full match writes.
    .createIndex('vulnerability_matches_vuln_org')
    .on('vulnerability_matches')
    .columns(['vuln_id', 'org_id'])
    .execute();
  // An organisation's matches are found through its SBOMs (sboms_org, then this table's primary
  // key, which starts with sbom_id), so org_id needs no index of its own here.

  // Triage history: the latest decision per (vulnerability, product, release) is the current one.
  await db.schema
    .createTable('vex_decisions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('vuln_id', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('restrict'))
    .addColumn('release_id', 'text', (c) => c.references('releases.id').onDelete('restrict'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('justification', 'text')
    .addColumn('impact_statement', 'text')
    .addColumn('action_statement', 'text')
    .addColumn('fixed_release_id', 'text', (c) => c.references('releases.id').onDelete('restrict'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('vex_decisions_org_vuln')
    .on('vex_decisions')
    .columns(['org_id', 'vuln_id'])
    .execute();

  // Which devices were exposed to what and when they stopped being: patch coverage over time.
  await db.schema
    .createTable('device_exposures')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('vuln_id', 'text', (c) => c.notNull())
    .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
    .addColumn('release_id', 'text', (c) => c.notNull())
    .addColumn('first_exposed_at', 'text', (c) => c.notNull())
    .addColumn('fixed_at', 'text')
    .addPrimaryKeyConstraint('device_exposures_pk', ['org_id', 'vuln_id', 'device_id'])
    .execute();

  await db.schema
    .createTable('report_cases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('vuln_id', 'text')
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id').onDelete('restrict'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('aware_at', 'text', (c) => c.notNull())
    .addColumn('corrective_available_at', 'text')
    .addColumn('fixed_release_id', 'text')
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('report_cases_org').on('report_cases').columns(['org_id', 'status']).execute();

  await db.schema
    .createTable('report_submissions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('case_id', 'text', (c) => c.notNull().references('report_cases.id').onDelete('restrict'))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('submitted_at', 'text', (c) => c.notNull())
    .addColumn('submitted_by', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    .addColumn('document', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('advisories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('tracking_id', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('vuln_ids', 'text', (c) => c.notNull())
    .addColumn('product_ids', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('document', 'text', (c) => c.notNull())
    .addColumn('initial_release_date', 'text')
    .addColumn('current_release_date', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('advisories_tracking', ['org_id', 'tracking_id'])
    .execute();

  await db.schema
    .createTable('disclosures')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('restrict'))
    .addColumn('tracking_token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('product_id', 'text')
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('contact', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('public_note', 'text')
    .addColumn('vuln_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('disclosures_org').on('disclosures').columns(['org_id', 'status']).execute();
}

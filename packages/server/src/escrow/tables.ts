import type { Kysely } from 'kysely';
import { migrations } from '../store/migrations/index.js';
import type { Database } from '../store/schema.js';

/**
 * Every table an escrow deposit carries, in the order a restore inserts them: the order the
 * migrations create them. A table only references tables created before it (no migration adds a
 * foreign key later), so inserting in this order satisfies every foreign key on both dialects
 * without switching checks off. `since` is the migration that creates the table: a deposit at an
 * older schema is complete without the tables of later migrations.
 */
export const ESCROW_TABLES: readonly { name: keyof Database & string; since: string }[] = [
  { name: 'organizations', since: '0001-fleet' },
  { name: 'brands', since: '0001-fleet' },
  { name: 'products', since: '0001-fleet' },
  { name: 'product_brands', since: '0001-fleet' },
  { name: 'devices', since: '0001-fleet' },
  { name: 'device_tags', since: '0001-fleet' },
  { name: 'api_tokens', since: '0001-fleet' },
  { name: 'audit_entries', since: '0001-fleet' },
  { name: 'audit_heads', since: '0001-fleet' },
  { name: 'device_credentials', since: '0002-connectivity' },
  { name: 'device_twins', since: '0002-connectivity' },
  { name: 'commands', since: '0002-connectivity' },
  { name: 'telemetry', since: '0002-connectivity' },
  { name: 'device_cas', since: '0003-device-identity' },
  { name: 'device_events', since: '0003-device-identity' },
  { name: 'tuf_online_keys', since: '0004-updates' },
  { name: 'tuf_metadata', since: '0004-updates' },
  { name: 'tuf_targets_drafts', since: '0004-updates' },
  { name: 'artifacts', since: '0004-updates' },
  { name: 'releases', since: '0004-updates' },
  { name: 'rollouts', since: '0004-updates' },
  { name: 'rollout_devices', since: '0004-updates' },
  { name: 'update_reports', since: '0004-updates' },
  { name: 'sboms', since: '0005-vulnerabilities' },
  { name: 'sbom_components', since: '0005-vulnerabilities' },
  { name: 'sbom_component_keys', since: '0005-vulnerabilities' },
  { name: 'vulnerabilities', since: '0005-vulnerabilities' },
  { name: 'vulnerability_ids', since: '0005-vulnerabilities' },
  { name: 'vulnerability_affected', since: '0005-vulnerabilities' },
  { name: 'known_exploited', since: '0005-vulnerabilities' },
  { name: 'vulnerability_matches', since: '0005-vulnerabilities' },
  { name: 'vex_decisions', since: '0005-vulnerabilities' },
  { name: 'device_exposures', since: '0005-vulnerabilities' },
  { name: 'report_cases', since: '0005-vulnerabilities' },
  { name: 'report_submissions', since: '0005-vulnerabilities' },
  { name: 'advisories', since: '0005-vulnerabilities' },
  { name: 'disclosures', since: '0005-vulnerabilities' },
  { name: 'endpoint_records', since: '0006-continuity' },
];

/** The tables a deposit at schema `current` must hold. */
export function tablesAt(current: string): string[] {
  const order = Object.keys(migrations);
  const level = order.indexOf(current);
  return ESCROW_TABLES.filter((t) => order.indexOf(t.since) <= level).map((t) => t.name);
}

export interface ColumnInfo {
  name: string;
  /** True for integer and floating columns: PostgreSQL hands bigint back as text, JSON gets a number. */
  numeric: boolean;
}

const NUMERIC = /^(integer|int|int2|int4|int8|bigint|smallint|real|float4|float8|double precision|numeric)$/i;

/**
 * The columns of every table in the live database, in their declared order. Refuses a database
 * with a table this list does not know: a deposit must never leave data behind silently.
 */
export async function liveColumns(db: Kysely<Database>): Promise<Map<string, ColumnInfo[]>> {
  const tables = await db.introspection.getTables();
  const known = new Set(ESCROW_TABLES.map((t) => t.name));
  const unknown = tables.map((t) => t.name).filter((name) => !known.has(name as never));
  if (unknown.length > 0)
    throw new Error(`escrow: the database has tables this build cannot deposit: ${unknown.join(', ')}`);
  return new Map(
    tables.map((t) => [t.name, t.columns.map((c) => ({ name: c.name, numeric: NUMERIC.test(c.dataType) }))]),
  );
}

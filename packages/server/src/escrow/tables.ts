import type { Kysely } from 'kysely';
import { migrations } from '../store/migrations/index.js';
import type { Database } from '../store/schema.js';
import { partitionTables } from '../telemetry/partitions.js';

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
  { name: 'telemetry_receipts', since: '0009-operations' },
  { name: 'node_heartbeats', since: '0009-operations' },
  { name: 'vulnerability_groups', since: '0010-vulnerability-groups' },
  // People, roles and factors travel with the deposit (issue 16 §7); passkeys stay bound to the
  // maker's domain, so after a restore under another one the successor signs in by a setup link.
  { name: 'people', since: '0013-people' },
  { name: 'memberships', since: '0013-people' },
  { name: 'invitations', since: '0013-people' },
  { name: 'recovery_codes', since: '0013-people' },
  { name: 'passkeys', since: '0013-people' },
  { name: 'org_sign_in', since: '0013-people' },
  { name: 'disclosure_messages', since: '0014-disclosure-messages' },
  { name: 'security_metric_snapshots', since: '0017-security-metric-snapshots' },
  { name: 'outbound_events', since: '0018-outbound-events' },
  // Sealed under the master key, which the deposit's secrets carry: a successor can keep signing
  // as the organisation, and should rotate the key (docs/evidence.md) so its packs are told apart.
  { name: 'org_signing_keys', since: '0019-org-signing-keys' },
  // A successor keeps delivering: the endpoints (their secrets stay sealed under the master key,
  // which the deposit's secrets.age carries), the deliveries with their retry state, the cursor.
  { name: 'webhooks', since: '0020-webhooks' },
  { name: 'webhook_deliveries', since: '0020-webhooks' },
  { name: 'webhook_cursors', since: '0020-webhooks' },
  // The inbox and what was fanned out travel too: a successor's notifier must not tell everyone
  // again about every event of the deposit.
  { name: 'notifications', since: '0021-notifications' },
  { name: 'notification_preferences', since: '0021-notifications' },
  { name: 'notification_settings', since: '0021-notifications' },
  { name: 'notified_events', since: '0021-notifications' },
  { name: 'notification_dedupe', since: '0021-notifications' },
  // Owners and their devices travel to a successor, and so do the unused claim codes' hashes, so
  // that a label printed at the factory still claims the device on the successor's server.
  { name: 'owners', since: '0022-owners' },
  { name: 'device_claim_codes', since: '0022-owners' },
  { name: 'device_owners', since: '0022-owners' },
  // Owners' passkeys travel as staff passkeys do: bound to the domain, they work again only when
  // the successor serves the same one.
  { name: 'owner_passkeys', since: '0027-owner-passkeys' },
  // Owners' notices travel with them: the dedupe keys keep a successor from telling them again.
  { name: 'owner_notices', since: '0025-owner-notices' },
  // Tombstones of what owners had deleted (no personal data): a restore applies the newest ledger
  // of the series, so an older deposit does not bring deleted data back (docs/data-rights.md).
  { name: 'deletion_ledger', since: '0026-data-rights' },
  // An owner's choice of local mode for a device (issue 18 §7) stays with the device on a successor.
  { name: 'owner_local_mode', since: '0024-sharing' },
  // The maker's registered apps (secrets as hashes) and the consent owners gave them travel, so
  // the maker's app keeps its client id on the successor's server; its tokens do not (below).
  { name: 'oauth_apps', since: '0023-oauth-apps' },
  { name: 'oauth_grants', since: '0023-oauth-apps' },
];

/**
 * Tables a deposit deliberately leaves out: live browser sessions and sign-in challenges in
 * flight. They expire within hours, and a successor's server must never accept the maker's
 * session cookies; everyone signs in again after a restore.
 */
export const NOT_DEPOSITED: ReadonlySet<string> = new Set([
  'sessions',
  'sign_in_challenges',
  // Owners' sessions and sign-in links likewise; the rate limits' counts are minutes old.
  'owner_sessions',
  'owner_sign_in_links',
  'owner_attempts',
  // Invitations to share a device are links valid for days at most; the owner invites again.
  'device_share_invitations',
  // Authorization codes and access and refresh tokens: a successor must not honour the maker's
  // tokens; apps ask the owner again (their consent travelled with oauth_grants).
  'oauth_codes',
  'oauth_tokens',
  // The nodes serving now and who runs which job (0028): runtime state of this cluster; a
  // successor's nodes register themselves and take every job at their first poll.
  'nodes',
  'leases',
  // The PostgreSQL artifact store's bytes (migration 0029): they reach a deposit as artifacts,
  // read through the store into the escrow's content-addressed objects (manifest.artifacts), as
  // the local directory's files do; rows of 1 MiB chunks would only duplicate them.
  'artifact_blobs',
  'artifact_chunks',
]);

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
  // The partitions of `telemetry` (PostgreSQL, migration 0030) are deposited through their parent.
  const partitions = await partitionTables(db);
  const tables = (await db.introspection.getTables()).filter((t) => !partitions.has(t.name));
  const known = new Set(ESCROW_TABLES.map((t) => t.name));
  const unknown = tables
    .map((t) => t.name)
    .filter((name) => !known.has(name as never) && !NOT_DEPOSITED.has(name));
  if (unknown.length > 0)
    throw new Error(`escrow: the database has tables this build cannot deposit: ${unknown.join(', ')}`);
  return new Map(
    tables
      .filter((t) => !NOT_DEPOSITED.has(t.name))
      .map((t) => [t.name, t.columns.map((c) => ({ name: c.name, numeric: NUMERIC.test(c.dataType) }))]),
  );
}

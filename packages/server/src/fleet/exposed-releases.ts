import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import {
  type Decision,
  effectiveStatus,
  exposedStatuses,
  toDecision,
} from '../vulnerabilities/triage-status.js';

/**
 * The organisation's releases that carry at least one open exposure: a matched vulnerability
 * whose effective triage status (triage-status.ts) is still in triage or affected. The same rule
 * as a device's own vulnerability list (exposure.ts deviceVulnerabilities), computed once per
 * organisation over releases, never per device: a device is exposed when it runs one of these
 * (same product, firmware_version = release version), which a device query tests with EXISTS.
 */
export async function exposedReleaseIds(db: Kysely<Database>, orgId: string): Promise<string[]> {
  const matched = await db
    .selectFrom('vulnerability_matches as m')
    .innerJoin('vulnerability_groups as v', 'v.vuln_id', 'm.vuln_id')
    .innerJoin('sboms as s', 's.id', 'm.sbom_id')
    .innerJoin('releases as r', 'r.id', 's.release_id')
    .select(['v.canonical_id', 'r.id as release_id', 'r.version', 'r.product_id'])
    .distinct()
    .where('m.org_id', '=', orgId)
    .where('s.org_id', '=', orgId)
    .execute();
  if (matched.length === 0) return [];
  const decisions = new Map<string, Decision[]>();
  for (const row of await db
    .selectFrom('vex_decisions')
    .leftJoin('releases', 'releases.id', 'vex_decisions.fixed_release_id')
    .selectAll('vex_decisions')
    .select('releases.version as fixed_version')
    .where('vex_decisions.org_id', '=', orgId)
    .execute()) {
    const list = decisions.get(row.vuln_id) ?? [];
    list.push(toDecision(row));
    decisions.set(row.vuln_id, list);
  }
  const exposed = new Set<string>();
  for (const m of matched) {
    if (exposed.has(m.release_id)) continue;
    const { status } = effectiveStatus(
      { id: m.release_id, productId: m.product_id, version: m.version },
      decisions.get(m.canonical_id) ?? [],
    );
    if (exposedStatuses.has(status)) exposed.add(m.release_id);
  }
  return [...exposed];
}

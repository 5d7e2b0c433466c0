import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import {
  type Decision,
  effectiveStatus,
  exposedStatuses,
  type TriageStatus,
  toDecision,
} from './triage-status.js';

export interface OverviewItem {
  id: string;
  summary: string;
  severity: { rating: string | null; score: number | null };
  knownExploited: boolean;
  products: number;
  releasesExposed: number;
  devicesExposed: number;
  /** The effective triage statuses of its matched releases, so a list can be filtered by them. */
  statuses: TriageStatus[];
}

/**
 * Every matched vulnerability of an organisation with its exposure, in a fixed number of queries
 * (matches by release, triage decisions, device counts, severities, KEV), not one exposure query
 * per vulnerability: an organisation with a large fleet has tens of thousands of matches.
 */
export async function vulnerabilityOverview(db: Kysely<Database>, orgId: string): Promise<OverviewItem[]> {
  const matched = await db
    .selectFrom('vulnerability_matches as m')
    // A record belongs to each vulnerability it names (records.ts groupsOf): one row per vulnerability.
    .innerJoin('vulnerability_groups as v', 'v.vuln_id', 'm.vuln_id')
    .innerJoin('sboms as s', 's.id', 'm.sbom_id')
    .innerJoin('releases as r', 'r.id', 's.release_id')
    .select(['v.canonical_id', 'r.id as release_id', 'r.version', 'r.product_id'])
    .distinct()
    .where('s.org_id', '=', orgId)
    .where('m.org_id', '=', orgId)
    .execute();
  if (matched.length === 0) return [];
  const decisionRows = await db
    .selectFrom('vex_decisions')
    .leftJoin('releases', 'releases.id', 'vex_decisions.fixed_release_id')
    .selectAll('vex_decisions')
    .select('releases.version as fixed_version')
    .where('vex_decisions.org_id', '=', orgId)
    .execute();
  const decisions = new Map<string, Decision[]>();
  for (const r of decisionRows) {
    const list = decisions.get(r.vuln_id) ?? [];
    list.push(toDecision(r));
    decisions.set(r.vuln_id, list);
  }
  const deviceCounts = new Map<string, number>();
  for (const r of await db
    .selectFrom('devices')
    .select(['product_id', 'firmware_version', (eb) => eb.fn.countAll<number>().as('n')])
    .where('org_id', '=', orgId)
    .where('deleted_at', 'is', null)
    .groupBy(['product_id', 'firmware_version'])
    .execute())
    deviceCounts.set(`${r.product_id}\u0000${r.firmware_version}`, Number(r.n));
  const canonical = [...new Set(matched.map((m) => m.canonical_id))];
  const severities = new Map<string, { rating: string | null; score: number | null; summary: string }>();
  const exploited = new Set<string>();
  for (let i = 0; i < canonical.length; i += 500) {
    const part = canonical.slice(i, i + 500);
    for (const r of await db
      .selectFrom('vulnerability_groups as g')
      .innerJoin('vulnerabilities as v', 'v.id', 'g.vuln_id')
      .select(['g.canonical_id', 'v.severity_rating', 'v.severity_score', 'v.summary'])
      .where('g.canonical_id', 'in', part)
      .execute()) {
      const seen = severities.get(r.canonical_id);
      const score = r.severity_score === null ? null : Number(r.severity_score);
      if (!seen || (score !== null && (seen.score === null || score > seen.score)))
        severities.set(r.canonical_id, {
          rating: r.severity_rating ?? seen?.rating ?? null,
          score: score ?? seen?.score ?? null,
          summary: seen?.summary || r.summary,
        });
    }
    for (const r of await db
      .selectFrom('known_exploited as k')
      .select('k.cve_id as canonical_id')
      .where('k.cve_id', 'in', part)
      .execute())
      exploited.add(r.canonical_id);
  }
  const byId = new Map<string, OverviewItem>();
  const products = new Map<string, Set<string>>();
  for (const m of matched) {
    let item = byId.get(m.canonical_id);
    if (!item) {
      const sev = severities.get(m.canonical_id);
      item = {
        id: m.canonical_id,
        summary: sev?.summary ?? '',
        severity: { rating: sev?.rating ?? null, score: sev?.score ?? null },
        knownExploited: exploited.has(m.canonical_id),
        products: 0,
        releasesExposed: 0,
        devicesExposed: 0,
        statuses: [],
      };
      byId.set(m.canonical_id, item);
      products.set(m.canonical_id, new Set());
    }
    products.get(m.canonical_id)?.add(m.product_id);
    const { status } = effectiveStatus(
      { id: m.release_id, productId: m.product_id, version: m.version },
      decisions.get(m.canonical_id) ?? [],
    );
    if (!item.statuses.includes(status)) item.statuses.push(status);
    if (!exposedStatuses.has(status)) continue;
    item.releasesExposed++;
    item.devicesExposed += deviceCounts.get(`${m.product_id}\u0000${m.version}`) ?? 0;
  }
  for (const [id, set] of products) {
    const item = byId.get(id);
    if (item) item.products = set.size;
  }
  return [...byId.values()].sort(
    (a, b) =>
      Number(b.knownExploited) - Number(a.knownExploited) ||
      (b.severity.score ?? 0) - (a.severity.score ?? 0) ||
      b.devicesExposed - a.devicesExposed ||
      (a.id < b.id ? -1 : 1),
  );
}

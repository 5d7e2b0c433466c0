import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { ExposureService, VulnerabilitySummary } from '../exposure.js';
import { type Decision, effectiveStatus, type TriageStatus } from '../triage-status.js';

export interface ReleaseStatement {
  releaseId: string;
  productId: string;
  productName: string;
  modelNumber: string;
  version: string;
  status: TriageStatus;
  decision: Decision | null;
  /** True for the release a `fixed` decision names (CSAF first_fixed). */
  firstFixed: boolean;
}

export interface VulnerabilityStatements {
  vulnerability: VulnerabilitySummary;
  releases: ReleaseStatement[];
}

/**
 * What an organisation says about each vulnerability, release by release: the effective triage
 * status of every matched release, plus the releases triage names as the fix. VEX exports and
 * CSAF advisories are both written from this.
 */
export async function collectStatements(
  db: Kysely<Database>,
  exposure: ExposureService,
  orgId: string,
  filter: { vulnerabilities?: string[]; productIds?: string[] } = {},
): Promise<VulnerabilityStatements[]> {
  let names = filter.vulnerabilities;
  if (!names) {
    const rows = await db
      .selectFrom('vulnerability_matches as m')
      .innerJoin('sboms as s', 's.id', 'm.sbom_id')
      .innerJoin('vulnerability_groups as v', 'v.vuln_id', 'm.vuln_id')
      .select('v.canonical_id')
      .distinct()
      .where('s.org_id', '=', orgId)
      .where('m.org_id', '=', orgId)
      .orderBy('v.canonical_id')
      .execute();
    names = rows.map((r) => r.canonical_id);
  }
  const out: VulnerabilityStatements[] = [];
  for (const name of names) {
    const e = await exposure.exposure(orgId, name);
    const decisions = await exposure.decisions(orgId, e.vulnerability.id);
    const releases: ReleaseStatement[] = [];
    for (const p of e.products) {
      if (filter.productIds && !filter.productIds.includes(p.productId)) continue;
      for (const r of p.releases) {
        const { status, decision } = effectiveStatus(
          { id: r.releaseId, productId: p.productId, version: r.version },
          decisions,
        );
        releases.push({
          releaseId: r.releaseId,
          productId: p.productId,
          productName: p.name,
          modelNumber: p.modelNumber,
          version: r.version,
          status,
          decision,
          firstFixed: false,
        });
      }
    }
    // Fixing releases that no longer match (the component was upgraded) are stated as fixed.
    const fixIds = [
      ...new Set(
        decisions
          .filter((d) => d.status === 'fixed' && d.fixedReleaseId)
          .map((d) => d.fixedReleaseId as string),
      ),
    ];
    for (const id of fixIds) {
      const existing = releases.find((r) => r.releaseId === id);
      if (existing) {
        existing.firstFixed = true;
        continue;
      }
      const row = await db
        .selectFrom('releases')
        .innerJoin('products', 'products.id', 'releases.product_id')
        .select([
          'releases.id',
          'releases.version',
          'releases.product_id',
          'products.name',
          'products.model_number',
        ])
        .where('releases.org_id', '=', orgId)
        .where('releases.id', '=', id)
        .executeTakeFirst();
      if (!row || (filter.productIds && !filter.productIds.includes(row.product_id))) continue;
      const decision = decisions.find((d) => d.fixedReleaseId === id) ?? null;
      releases.push({
        releaseId: row.id,
        productId: row.product_id,
        productName: row.name,
        modelNumber: row.model_number,
        version: row.version,
        status: 'fixed',
        decision,
        firstFixed: true,
      });
    }
    if (releases.length > 0) out.push({ vulnerability: e.vulnerability, releases });
  }
  return out;
}

/** A stable package URL for a firmware release, which has no package ecosystem (purl type generic). */
export function releasePurl(orgSlug: string, modelNumber: string, version: string): string {
  const seg = (s: string): string => encodeURIComponent(s.toLowerCase());
  return `pkg:generic/${seg(orgSlug)}/${seg(modelNumber)}@${encodeURIComponent(version)}`;
}

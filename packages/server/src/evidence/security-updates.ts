import type { Product } from '../fleet/products.js';
import type { Services } from '../services.js';
import type { Release } from '../updates/releases.js';
import { releaseVulnerabilities } from '../vulnerabilities/exposure.js';

/**
 * The security update history of one product (docs/evidence.md "How the security update history
 * is computed"). Shared by the evidence pack (security-updates.json) and the patch metrics
 * (metrics/), so both state the same times for the same vulnerability.
 */
export interface SecurityUpdateEntry {
  id: string;
  summary: string;
  severity: { rating: string | null; score: number | null; vector: string | null };
  knownExploited: boolean;
  triageStatus: string;
  affectedReleases: string[];
  firstSeen: string;
  fixedBy: { releaseId: string; version: string; kind: string; publishedAt: string | null } | null;
  timeToFixDays: number | null;
  coverage: {
    scope: string;
    exposedNow: number;
    fixed: number;
    share: number | null;
    reached90At: string | null;
    reached100At: string | null;
    series: Array<{ at: string; exposedEver: number; fixed: number; coverage: number }>;
  };
  decisions: Array<{
    status: string;
    releaseId: string | null;
    fixedReleaseId: string | null;
    justification: string | null;
    at: string;
    by: string;
  }>;
}

export interface SecurityUpdateHistory {
  computedFrom: string;
  vulnerabilities: SecurityUpdateEntry[];
}

/** Days between two ISO times, to one decimal. */
export const days = (from: string, to: string): number =>
  Math.round(((Date.parse(to) - Date.parse(from)) / 86_400_000) * 10) / 10;

/**
 * Per vulnerability matched in any release of the product: when it was first seen, the
 * fixing release a triage decision names and when that release was published, and the
 * organisation's device coverage series for the fix (exposure.coverage: devices ever exposed
 * against devices that moved to a fixed release, as the device exposure table records them).
 */
export async function securityUpdateHistory(
  services: Services,
  orgId: string,
  product: Product,
  releases: Release[],
  /** Where a fixing release is looked up: all of the product's (a release pack covers one). */
  allReleases: Release[] = releases,
): Promise<SecurityUpdateHistory> {
  const byId = new Map<
    string,
    {
      firstSeen: string;
      releases: string[];
      severity: SecurityUpdateEntry['severity'];
      knownExploited: boolean;
      summary: string;
      status: string;
    }
  >();
  for (const release of releases) {
    for (const v of await releaseVulnerabilities(services.store.db, services.exposure, orgId, release)) {
      const since = v.matches.map((m) => m.since).sort()[0] ?? '';
      const entry = byId.get(v.id);
      if (!entry)
        byId.set(v.id, {
          firstSeen: since,
          releases: [release.version],
          severity: v.severity,
          knownExploited: v.knownExploited,
          summary: v.summary,
          status: v.status,
        });
      else {
        entry.releases.push(release.version);
        if (since && since < entry.firstSeen) entry.firstSeen = since;
      }
    }
  }
  const items: SecurityUpdateEntry[] = [];
  for (const [id, v] of byId) {
    const decisions = (await services.exposure.decisions(orgId, id)).filter(
      (d) => d.productId === product.id,
    );
    const fix = decisions.find((d) => d.status === 'fixed' && d.fixedReleaseId);
    const fixRelease = fix?.fixedReleaseId ? allReleases.find((r) => r.id === fix.fixedReleaseId) : undefined;
    const coverage = await services.exposure.coverage(orgId, id);
    const fixedAt = fixRelease?.publishedAt ?? null;
    const reach = (share: number) => coverage.series.find((s) => s.coverage >= share)?.at ?? null;
    items.push({
      id,
      summary: v.summary,
      severity: v.severity,
      knownExploited: v.knownExploited,
      triageStatus: v.status,
      affectedReleases: v.releases,
      firstSeen: v.firstSeen,
      fixedBy: fixRelease
        ? {
            releaseId: fixRelease.id,
            version: fixRelease.version,
            kind: fixRelease.kind,
            publishedAt: fixedAt,
          }
        : null,
      timeToFixDays: fixedAt && v.firstSeen ? days(v.firstSeen, fixedAt) : null,
      coverage: {
        scope: 'every device of the organisation exposed to this vulnerability (all products)',
        exposedNow: coverage.exposedNow,
        fixed: coverage.fixed,
        share: coverage.coverage,
        reached90At: reach(0.9),
        reached100At: reach(1),
        series: coverage.series,
      },
      decisions: decisions.map((d) => ({
        status: d.status,
        releaseId: d.releaseId,
        fixedReleaseId: d.fixedReleaseId,
        justification: d.justification,
        at: d.createdAt,
        by: d.createdBy,
      })),
    });
  }
  return {
    computedFrom:
      'first seen: the earliest time the SBOM matching found the vulnerability in a release of the product; fixed by: the triage decision of status fixed naming the fixing release, dated by that release’s publication; coverage: the device exposure records (a device counts as fixed when it reports a release that is not exposed)',
    vulnerabilities: items,
  };
}

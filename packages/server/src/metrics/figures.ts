import semver from 'semver';
import type { Product } from '../fleet/products.js';
import type { Services } from '../services.js';
import type { Release } from '../updates/releases.js';
import { releaseVulnerabilities } from '../vulnerabilities/exposure.js';
import { exposedStatuses } from '../vulnerabilities/triage-status.js';

/** Whose devices a figure counts: one product's, or one brand's across its products. */
export type MetricScope = { kind: 'product'; id: string } | { kind: 'brand'; id: string };

/** Device counts at one moment (docs/evidence.md "Patch and support metrics"). */
export interface DeviceFigures {
  /** Devices of the scope (not deleted), whatever they report. */
  devices: number;
  /** Support period not ended, and on a published release with no open high/critical vulnerability or on the newest security release (or later). */
  supported: number;
  /** On the product's newest (highest version) published security release, or a higher published version. */
  newestSecurity: number;
  /** On a release with an open vulnerability listed in CISA KEV. */
  kevExposed: number;
}

const MAX_RELEASES = 1000;

/** `critical`/`high`/`medium`/`low` from the rating, or from the CVSS score when only that is known. */
export function severityOf(severity: { rating: string | null; score: number | null }): string {
  const rating = (severity.rating ?? '').toLowerCase();
  if (['critical', 'high', 'medium', 'low'].includes(rating)) return rating;
  const score = severity.score;
  if (score === null) return 'unknown';
  return score >= 9
    ? 'critical'
    : score >= 7
      ? 'high'
      : score >= 4
        ? 'medium'
        : score > 0
          ? 'low'
          : 'unknown';
}

/**
 * The product's published releases, lowest version first. Versions are semver (releases.ts
 * refuses others) and order releases as triage does ("fixed in F" covers F and every later
 * version): publication time would not, since one signing publishes several releases at once.
 */
export async function publishedReleases(
  services: Services,
  orgId: string,
  productId: string,
): Promise<Release[]> {
  return (await services.releases.list(orgId, { limit: MAX_RELEASES }, { productId })).items
    .filter((r) => r.status === 'published' && r.publishedAt)
    .sort((a, b) => semver.compare(a.version, b.version));
}

/** The products a scope covers: the product itself, or every product some device of the brand belongs to or that names the brand. */
export async function scopeProducts(
  services: Services,
  orgId: string,
  scope: MetricScope,
): Promise<Product[]> {
  if (scope.kind === 'product') return [await services.products.get(orgId, scope.id)];
  await services.brands.get(orgId, scope.id);
  const fromDevices = await services.store.db
    .selectFrom('devices')
    .select('product_id')
    .distinct()
    .where('org_id', '=', orgId)
    .where('brand_id', '=', scope.id)
    .where('deleted_at', 'is', null)
    .execute();
  const named = await services.store.db
    .selectFrom('product_brands')
    .innerJoin('products', 'products.id', 'product_brands.product_id')
    .select('product_brands.product_id')
    .where('products.org_id', '=', orgId)
    .where('product_brands.brand_id', '=', scope.id)
    .execute();
  const ids = [...new Set([...fromDevices, ...named].map((r) => r.product_id))].sort();
  return Promise.all(ids.map((id) => services.products.get(orgId, id)));
}

/** The figures of one scope now: the current firmware reports against the current triage state. */
export async function deviceFigures(
  services: Services,
  orgId: string,
  scope: MetricScope,
): Promise<DeviceFigures> {
  const out: DeviceFigures = { devices: 0, supported: 0, newestSecurity: 0, kevExposed: 0 };
  const today = services.clock.now().toISOString().slice(0, 10);
  for (const product of await scopeProducts(services, orgId, scope)) {
    const releases = await publishedReleases(services, orgId, product.id);
    const newestSecurity = releases.filter((r) => r.kind === 'security').at(-1);
    const atOrAfterNewestSecurity = new Set(
      newestSecurity
        ? releases.filter((r) => semver.gte(r.version, newestSecurity.version)).map((r) => r.version)
        : [],
    );
    const supportOpen = product.supportEnds >= today;
    const state = new Map<string, { openHigh: boolean; kev: boolean }>();
    for (const release of releases) {
      const open = (
        await releaseVulnerabilities(services.store.db, services.exposure, orgId, release)
      ).filter((v) => exposedStatuses.has(v.status));
      state.set(release.version, {
        openHigh: open.some((v) => ['high', 'critical'].includes(severityOf(v.severity))),
        kev: open.some((v) => v.knownExploited),
      });
    }
    let query = services.store.db
      .selectFrom('devices')
      .select(['firmware_version', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('org_id', '=', orgId)
      .where('product_id', '=', product.id)
      .where('deleted_at', 'is', null);
    if (scope.kind === 'brand') query = query.where('brand_id', '=', scope.id);
    for (const row of await query.groupBy('firmware_version').execute()) {
      const n = Number(row.n);
      out.devices += n;
      const version = row.firmware_version;
      const release = version === null ? undefined : state.get(version);
      if (!version || !release) continue;
      const newest = atOrAfterNewestSecurity.has(version);
      if (newest) out.newestSecurity += n;
      if (supportOpen && (!release.openHigh || newest)) out.supported += n;
      if (release.kev) out.kevExposed += n;
    }
  }
  return out;
}

import { invalid } from '../errors.js';
import { type SecurityUpdateEntry, securityUpdateHistory } from '../evidence/security-updates.js';
import type { Services } from '../services.js';
import { deviceFigures, type MetricScope, publishedReleases, scopeProducts } from './figures.js';
import { type Bucket, bucketCount, bucketStart, type SeriesPoint, storedSeries } from './snapshots.js';
import { type SeverityTimes, type severities, timesBySeverity } from './times.js';

/** Most points one answer holds: 400 days, about eight years of weeks, 33 years of months. */
export const MAX_POINTS = 400;
const DEFAULT_DAYS = 90;

/** How each figure is counted, served with the figures so a reader never has to guess. */
export const metricRules = {
  devices: 'devices of the product (or of the brand) that are not deleted, whatever firmware they report',
  supported:
    'the product’s support period has not ended (today is on or before supportEnds) and the device reports a published release of the product that has no open (in_triage or affected) vulnerability rated high or critical, or reports the newest security release or a higher version',
  newestSecurity:
    'the device reports the product’s newest published release of kind security (highest version), or a published release of a higher version; 0 while the product has no published security release',
  kevExposed:
    'the device reports a release with an open (in_triage or affected) vulnerability listed in the CISA Known Exploited Vulnerabilities catalogue',
  history:
    'days before today come from the daily snapshot (security_metric_snapshots, written once a day by the server); the last point is computed live. Days on which the server did not run have no point.',
  times:
    'per vulnerability matched in the scope’s releases, as in the evidence pack’s security-updates.json: time to fix runs from first seen to the publication of the fixing release; time to coverage from that publication to the moment 90 % and 100 % of the exposed devices of the organisation were fixed',
};

export interface MetricsQuery {
  from?: string;
  to?: string;
  bucket?: Bucket;
}

export interface Metrics {
  scope: { kind: MetricScope['kind']; id: string; name: string };
  products: Array<{
    id: string;
    name: string;
    modelNumber: string;
    supportEnds: string;
    supportEnded: boolean;
    newestSecurityRelease: { id: string; version: string; publishedAt: string | null } | null;
  }>;
  from: string;
  to: string;
  bucket: Bucket;
  series: SeriesPoint[];
  now: SeriesPoint;
  times: Record<(typeof severities)[number], SeverityTimes>;
  vulnerabilities: number;
  rules: typeof metricRules;
}

const isDay = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

/** The patch and support metrics of a product or a brand (issue 21 §4; docs/evidence.md). */
export async function securityMetrics(
  services: Services,
  orgId: string,
  scope: MetricScope,
  query: MetricsQuery = {},
): Promise<Metrics> {
  const nowAt = services.clock.now().toISOString();
  const today = nowAt.slice(0, 10);
  const bucket = query.bucket ?? 'day';
  const to = query.to ?? today;
  const from =
    query.from ??
    new Date(Date.parse(`${to}T00:00:00Z`) - DEFAULT_DAYS * 86_400_000).toISOString().slice(0, 10);
  for (const [name, value] of [
    ['from', from],
    ['to', to],
  ] as const)
    if (!isDay(value)) throw invalid(name, 'must be a date (YYYY-MM-DD)');
  if (from > to) throw invalid('from', 'must not be after to');
  if (bucketCount(from, to, bucket) > MAX_POINTS)
    throw invalid(
      'bucket',
      `from..to spans more than ${MAX_POINTS} ${bucket}s; narrow the range or use a larger bucket (week, month)`,
    );

  const name =
    scope.kind === 'product'
      ? (await services.products.get(orgId, scope.id)).name
      : (await services.brands.get(orgId, scope.id)).name;
  const products = await scopeProducts(services, orgId, scope);
  const entries: SecurityUpdateEntry[] = [];
  const productOut: Metrics['products'] = [];
  for (const product of products) {
    const releases = await publishedReleases(services, orgId, product.id);
    const all = (await services.releases.list(orgId, { limit: 1000 }, { productId: product.id })).items;
    entries.push(...(await securityUpdateHistory(services, orgId, product, all)).vulnerabilities);
    const newest = releases.filter((r) => r.kind === 'security').at(-1);
    productOut.push({
      id: product.id,
      name: product.name,
      modelNumber: product.modelNumber,
      supportEnds: product.supportEnds,
      supportEnded: product.supportEnds < today,
      newestSecurityRelease: newest
        ? { id: newest.id, version: newest.version, publishedAt: newest.publishedAt }
        : null,
    });
  }

  const live: SeriesPoint = {
    bucket: bucketStart(today, bucket),
    at: nowAt,
    source: 'live',
    ...(await deviceFigures(services, orgId, scope)),
  };
  const series = await storedSeries(services, orgId, scope, from, to, bucket);
  // Today's figures are the live ones: they replace the bucket's stored point.
  if (to >= today) {
    const kept = series.filter((p) => p.bucket !== live.bucket);
    series.length = 0;
    series.push(...kept, live);
  }
  return {
    scope: { kind: scope.kind, id: scope.id, name },
    products: productOut,
    from,
    to,
    bucket,
    series,
    now: live,
    times: timesBySeverity(entries),
    vulnerabilities: entries.length,
    rules: metricRules,
  };
}

import type { Services } from '../services.js';
import { type DeviceFigures, deviceFigures, type MetricScope } from './figures.js';

/**
 * The daily record of the patch and support figures (0017). Devices keep only the firmware they
 * report now, so the past cannot be recomputed: what a day looked like is what this job wrote
 * that day. Running it twice a day overwrites the day's row with the later figures.
 */
export async function writeSnapshots(services: Services, orgId?: string): Promise<number> {
  const db = services.store.db;
  const now = services.clock.now().toISOString();
  const day = now.slice(0, 10);
  let orgs = db.selectFrom('organizations').select('id');
  if (orgId) orgs = orgs.where('id', '=', orgId);
  let written = 0;
  for (const org of await orgs.execute()) {
    const products = await db.selectFrom('products').select('id').where('org_id', '=', org.id).execute();
    const brands = await db.selectFrom('brands').select('id').where('org_id', '=', org.id).execute();
    const scopes: MetricScope[] = [
      ...products.map((p) => ({ kind: 'product' as const, id: p.id })),
      ...brands.map((b) => ({ kind: 'brand' as const, id: b.id })),
    ];
    for (const scope of scopes) {
      const f = await deviceFigures(services, org.id, scope);
      const values = {
        devices: f.devices,
        supported: f.supported,
        newest_security: f.newestSecurity,
        kev_exposed: f.kevExposed,
        recorded_at: now,
      };
      await db
        .insertInto('security_metric_snapshots')
        .values({ org_id: org.id, scope: scope.kind, scope_id: scope.id, day, ...values })
        .onConflict((oc) => oc.columns(['org_id', 'scope', 'scope_id', 'day']).doUpdateSet(values))
        .execute();
      written++;
    }
  }
  return written;
}

/**
 * Writes today's snapshots at the first poll and then once a day until the returned function is
 * called, on one node of a cluster at a time (a lease).
 */
export function startMetricSnapshots(
  services: Services,
  onError: (error: unknown) => void,
  everyMs = 86_400_000,
): () => void {
  return services.jobs.every('metric-snapshots', everyMs, () => writeSnapshots(services), onError);
}

export const buckets = ['day', 'week', 'month'] as const;
export type Bucket = (typeof buckets)[number];

/** The first day of the bucket a day (YYYY-MM-DD) falls in: itself, its week's Monday, its month's 1st. */
export function bucketStart(day: string, bucket: Bucket): string {
  if (bucket === 'day') return day;
  if (bucket === 'month') return `${day.slice(0, 7)}-01`;
  const date = new Date(`${day}T00:00:00.000Z`);
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString().slice(0, 10);
}

/** How many buckets the days from..to span. */
export function bucketCount(from: string, to: string, bucket: Bucket): number {
  const start = bucketStart(from, bucket);
  const end = bucketStart(to, bucket);
  if (bucket === 'month')
    return (
      (Number(end.slice(0, 4)) - Number(start.slice(0, 4))) * 12 +
      Number(end.slice(5, 7)) -
      Number(start.slice(5, 7)) +
      1
    );
  return Math.round((Date.parse(end) - Date.parse(start)) / 86_400_000 / (bucket === 'week' ? 7 : 1)) + 1;
}

export interface SeriesPoint extends DeviceFigures {
  /** The bucket's first day. */
  bucket: string;
  /** The day of the snapshot the point shows (the bucket's last), or the time of the live figures. */
  at: string;
  source: 'snapshot' | 'live';
}

/** The stored days from..to, the last snapshot of each bucket. */
export async function storedSeries(
  services: Services,
  orgId: string,
  scope: MetricScope,
  from: string,
  to: string,
  bucket: Bucket,
): Promise<SeriesPoint[]> {
  const rows = await services.store.db
    .selectFrom('security_metric_snapshots')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('scope', '=', scope.kind)
    .where('scope_id', '=', scope.id)
    .where('day', '>=', from)
    .where('day', '<=', to)
    .orderBy('day')
    .execute();
  const byBucket = new Map<string, SeriesPoint>();
  for (const r of rows) {
    const key = bucketStart(r.day, bucket);
    byBucket.set(key, {
      bucket: key,
      at: r.day,
      source: 'snapshot',
      devices: Number(r.devices),
      supported: Number(r.supported),
      newestSecurity: Number(r.newest_security),
      kevExposed: Number(r.kev_exposed),
    });
  }
  return [...byBucket.values()];
}

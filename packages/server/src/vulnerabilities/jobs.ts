import type { Services } from '../services.js';

/**
 * The vulnerability jobs `serve` runs: the coverage record of every tracked vulnerability (so
 * patch coverage over time shows when devices were fixed, not when someone looked), and, when
 * feeds are configured, a feed sync (which matches what it imported). Each runs on one node of a
 * cluster at a time (a lease) and waits for its last run. Returns a stop function.
 */
export function startVulnerabilityJobs(
  services: Pick<Services, 'store' | 'exposure' | 'vulnerabilities' | 'vulnerabilityFeeds' | 'jobs'>,
  onError: (job: string, error: unknown) => void,
  options: { coverageMs?: number; syncMinutes?: number } = {},
): () => void {
  const stops: (() => void)[] = [];
  const schedule = (job: string, ms: number, work: () => Promise<unknown>) =>
    stops.push(services.jobs.every(job, ms, work, (error) => onError(job, error)));
  schedule('vulnerability-coverage', options.coverageMs ?? 5 * 60_000, () => refreshAllCoverage(services));
  const syncMinutes = options.syncMinutes ?? 0;
  if (syncMinutes > 0 && services.vulnerabilityFeeds.length > 0)
    schedule('vulnerability-sync', syncMinutes * 60_000, () =>
      services.vulnerabilities.sync('system:sync', services.vulnerabilityFeeds),
    );
  return () => {
    for (const stop of stops) stop();
  };
}

/**
 * Refreshes the exposure record of every (organisation, vulnerability) being tracked: tracking
 * starts with a remediation or the first coverage request, so the cost follows what people follow,
 * not every match of a large fleet (one row per exposed device and vulnerability).
 */
export async function refreshAllCoverage(services: Pick<Services, 'store' | 'exposure'>): Promise<number> {
  const pairs = await services.store.db
    .selectFrom('device_exposures')
    .select(['org_id', 'vuln_id'])
    .distinct()
    .execute();
  for (const p of pairs) await services.exposure.refreshCoverage(p.org_id, p.vuln_id);
  return pairs.length;
}

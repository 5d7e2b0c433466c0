import type { Kysely } from 'kysely';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import type { Database } from '../store/schema.js';
import type { RolloutService } from '../updates/rollouts.js';
import { vulnerabilityOverview } from '../vulnerabilities/overview.js';
import type { ReportCaseService } from '../vulnerabilities/report-cases.js';
import { runsOneOf } from './devices.js';
import { exposedReleaseIds } from './exposed-releases.js';

/** How many rows of each list the overview carries: the cards link to the full lists. */
const VERSIONS_SHOWN = 20;
const ROLLOUTS_SHOWN = 5;
const CASES_SHOWN = 5;
/** Report clocks due within this many hours count as about to expire. */
export const DUE_SOON_HOURS = 24;

export interface FleetOverview {
  devices: { total: number; online: number; offline: number; neverSeen: number };
  versions: {
    /** Distinct (product, firmware version) pairs in the field. */
    distinct: number;
    items: Array<{
      productId: string;
      productName: string;
      firmwareVersion: string | null;
      devices: number;
      online: number;
    }>;
  };
  exposures: {
    /** Vulnerabilities with at least one release still in triage or affected. */
    open: number;
    knownExploited: number;
    bySeverity: { critical: number; high: number; medium: number; low: number; unknown: number };
    /** Devices running a release with at least one open exposure. */
    devicesExposed: number;
  };
  rollouts: {
    /** Running, paused or halted. */
    inProgress: number;
    items: Array<{
      id: string;
      name: string;
      status: string;
      releaseId: string;
      devices: number;
      done: number;
      failed: number;
    }>;
  };
  reports: {
    open: number;
    overdue: number;
    dueSoon: number;
    items: Array<{
      id: string;
      title: string;
      vulnerabilityId: string | null;
      stage: string | null;
      dueAt: string | null;
      state: string | null;
    }>;
  };
  continuity: {
    lastDeposit: { id: string; at: string } | null;
    lastRefusedDeposit: { at: string } | null;
    lastDrill: { at: string; ok: boolean } | null;
  } | null;
}

const severityKeys = ['critical', 'high', 'medium', 'low'] as const;

/**
 * The state of the maker's duties on one screen (issue 17): aggregate queries over the
 * organisation's rows (GROUP BY, counts), never a walk over its devices in JavaScript, so the
 * answer at 100,000 devices costs one grouped scan of the org's devices plus small lists.
 */
export async function fleetOverview(
  deps: {
    db: Kysely<Database>;
    clock: Clock;
    rollouts: RolloutService;
    reportCases: ReportCaseService;
  },
  orgId: string,
  /** Deposits and drills are the platform's, shown like the audit log: only with `audit:read`. */
  { withContinuity }: { withContinuity: boolean } = { withContinuity: true },
): Promise<FleetOverview> {
  const { db } = deps;
  const [versions, neverSeen, products, exposures, rollouts, reports, continuity] = await Promise.all([
    db
      .selectFrom('devices')
      .select([
        'product_id',
        'firmware_version',
        (eb) => eb.fn.countAll<number | string>().as('n'),
        (eb) => eb.fn.sum<number | string | null>('online').as('online'),
      ])
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .groupBy(['product_id', 'firmware_version'])
      .execute(),
    db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .where('last_seen_at', 'is', null)
      .where('online', '=', 0)
      .executeTakeFirstOrThrow(),
    db.selectFrom('products').select(['id', 'name']).where('org_id', '=', orgId).execute(),
    exposureFigures(db, orgId),
    rolloutFigures(deps.rollouts, orgId),
    reportFigures(deps.reportCases, deps.clock, orgId),
    withContinuity ? continuityFigures(db) : Promise.resolve(null),
  ]);
  const names = new Map(products.map((p) => [p.id, p.name]));
  const rows = versions
    .map((r) => ({
      productId: r.product_id,
      productName: names.get(r.product_id) ?? r.product_id,
      firmwareVersion: r.firmware_version,
      devices: Number(r.n),
      online: Number(r.online ?? 0),
    }))
    .sort(
      (a, b) =>
        b.devices - a.devices ||
        a.productName.localeCompare(b.productName) ||
        (a.firmwareVersion ?? '').localeCompare(b.firmwareVersion ?? ''),
    );
  const total = rows.reduce((n, r) => n + r.devices, 0);
  const online = rows.reduce((n, r) => n + r.online, 0);
  return {
    devices: { total, online, offline: total - online, neverSeen: Number(neverSeen.n) },
    versions: { distinct: rows.length, items: rows.slice(0, VERSIONS_SHOWN) },
    exposures,
    rollouts,
    reports,
    continuity,
  };
}

async function exposureFigures(db: Kysely<Database>, orgId: string): Promise<FleetOverview['exposures']> {
  const [vulnerabilities, releases] = await Promise.all([
    vulnerabilityOverview(db, orgId),
    exposedReleaseIds(db, orgId),
  ]);
  const open = vulnerabilities.filter((v) => v.releasesExposed > 0);
  const bySeverity = { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 };
  for (const v of open) {
    const rating = (v.severity.rating ?? '').toLowerCase();
    const key = severityKeys.find((k) => k === rating) ?? 'unknown';
    bySeverity[key]++;
  }
  const devicesExposed =
    releases.length === 0
      ? 0
      : Number(
          (
            await db
              .selectFrom('devices')
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .where('org_id', '=', orgId)
              .where('deleted_at', 'is', null)
              .where((eb) => runsOneOf(eb, releases))
              .executeTakeFirstOrThrow()
          ).n,
        );
  return {
    open: open.length,
    knownExploited: open.filter((v) => v.knownExploited).length,
    bySeverity,
    devicesExposed,
  };
}

async function rolloutFigures(rollouts: RolloutService, orgId: string): Promise<FleetOverview['rollouts']> {
  const active = ['running', 'paused', 'halted'] as const;
  const lists = await Promise.all(active.map((status) => rollouts.list(orgId, { limit: 100 }, status)));
  const all = lists.flatMap((l) => l.items).sort((a, b) => (a.id < b.id ? 1 : -1));
  const shown = await Promise.all(all.slice(0, ROLLOUTS_SHOWN).map((r) => rollouts.progress(orgId, r.id)));
  const sum = (totals: Record<string, number | undefined>, states: string[]) =>
    states.reduce((n, s) => n + (totals[s] ?? 0), 0);
  return {
    // At most 100 per status are counted: far more than anyone runs at once.
    inProgress: all.length,
    items: shown.map((r) => ({
      id: r.id,
      name: r.name,
      status: r.status,
      releaseId: r.releaseId,
      devices: Object.values(r.totals).reduce<number>((n, v) => n + (v ?? 0), 0),
      done: sum(r.totals, ['succeeded']),
      failed: sum(r.totals, ['failed', 'rolled-back']),
    })),
  };
}

async function reportFigures(
  reportCases: ReportCaseService,
  clock: Clock,
  orgId: string,
): Promise<FleetOverview['reports']> {
  const open = await reportCases.list(orgId, { status: 'open' });
  const soon = clock.now().getTime() + DUE_SOON_HOURS * 3_600_000;
  const next = open.map((c) => {
    const clock = c.clocks
      .filter((k) => k.dueAt && !k.submittedAt)
      .sort((a, b) => ((a.dueAt as string) < (b.dueAt as string) ? -1 : 1))[0];
    return { c, clock };
  });
  return {
    open: open.length,
    overdue: next.filter((n) => n.clock?.state === 'overdue').length,
    dueSoon: next.filter((n) => n.clock?.state === 'due' && Date.parse(n.clock.dueAt as string) <= soon)
      .length,
    items: next.slice(0, CASES_SHOWN).map(({ c, clock }) => ({
      id: c.id,
      title: c.title,
      vulnerabilityId: c.vulnerabilityId,
      stage: clock?.stage ?? null,
      dueAt: clock?.dueAt ?? null,
      state: clock?.state ?? null,
    })),
  };
}

/**
 * Escrow deposits cover the whole installation (every organisation) and are recorded in the
 * platform audit chain; only their id and time are shown here, not where they went or to whom.
 * Drills (`brickless escrow drill`) record their outcome in the same chain (`escrow.drill`, with
 * the figures that GET …/continuity shows); here only when and whether it passed.
 */
async function continuityFigures(db: Kysely<Database>): Promise<NonNullable<FleetOverview['continuity']>> {
  const last = (action: string) =>
    db
      .selectFrom('audit_entries')
      .select(['target_id', 'at', 'details'])
      .where('chain', '=', PLATFORM_CHAIN)
      .where('action', '=', action)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
  const [deposit, refused, drill] = await Promise.all([
    last('escrow.deposit'),
    last('escrow.deposit-refused'),
    last('escrow.drill'),
  ]);
  return {
    lastDeposit: deposit ? { id: deposit.target_id, at: deposit.at } : null,
    lastRefusedDeposit: refused && (!deposit || refused.at > deposit.at) ? { at: refused.at } : null,
    lastDrill: drill ? { at: drill.at, ok: drillPassed(drill.details) } : null,
  };
}

/** The drill's `ok` in its audit details (stored as JSON text or an object, by dialect). */
function drillPassed(details: unknown): boolean {
  try {
    const parsed = typeof details === 'string' ? JSON.parse(details) : details;
    return (parsed as { ok?: unknown } | null)?.ok === true;
  } catch {
    return false;
  }
}

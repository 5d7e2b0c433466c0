import { PLATFORM_CHAIN, toEntry } from '../audit/service.js';
import type { Services } from '../services.js';
import { type DepositCheck, depositEntry, drillEntry } from './overview.js';

/**
 * The takeover readiness report (issue 21 §3, docs/evidence.md): for an insurer or escrow agent,
 * how far a successor could take over today. Every figure is read from what brickless already
 * records (the platform audit chain's deposits and drills, the TUF root, the devices' endpoint
 * reports); nothing is estimated.
 */
export const READINESS_FORMAT = 'brickless-readiness/1';
/** Deposits looked through for the last verified one (newest first). */
const DEPOSITS_SEARCHED = 50;
/** Used when neither `--max-age-hours` nor a deposit schedule says how old a deposit may be. */
export const DEFAULT_MAX_DEPOSIT_AGE_HOURS = 24;
export const DEFAULT_MAX_DRILL_AGE_DAYS = 90;
/** Endpoint reports that prove a device's firmware acted on a signed endpoint record. */
export const MOVABLE_STATUSES = ['arrived', 'moving', 'local'] as const;
export const MOVABLE_RULE =
  'a device can move when it has reported acting on a signed endpoint record (endpoint status arrived, moving or local for any record version); devices that never reported one, or refused it, are not counted';

export type WarningCode =
  | 'deposit-missing'
  | 'deposit-old'
  | 'deposit-unverified'
  | 'drill-missing'
  | 'drill-failed'
  | 'drill-old'
  | 'devices-cannot-move'
  | 'escrow-key-missing';

export interface ReadinessWarning {
  code: WarningCode;
  message: string;
}

export interface ReadinessReport {
  format: typeof READINESS_FORMAT;
  createdAt: string;
  organization: { id: string; slug: string; name: string };
  limits: {
    maxDepositAgeHours: number;
    maxDepositAgeFrom: 'option' | 'schedule' | 'default';
    maxDrillAgeDays: number;
  };
  recoveryPoint: {
    lastDeposit: { depositId: string; at: string; ageHours: number; check: DepositCheck | null } | null;
    lastVerifiedDeposit: { depositId: string; at: string; ageHours: number } | null;
  };
  drill: {
    at: string;
    ageDays: number;
    ok: boolean;
    devices: number | null;
    /** Seconds from the start of the restore until 99 % of the devices were served again. */
    served99Seconds: number | null;
    reconnect99Seconds: number | null;
    /** Share (0..1) of the drill's devices that reconnected to the restored service. */
    movedShare: number | null;
    featuresPassed: number | null;
    featuresTotal: number | null;
    failed: string[];
  } | null;
  updateKeys: {
    initialized: boolean;
    rootThreshold: number;
    rootKeys: number;
    escrowKeysInRoot: number;
    /** An escrow (successor) key is one of the root keys: it holds a share of the root threshold. */
    escrowHoldsRootShare: boolean;
    /** The escrow keys alone meet the root threshold: a successor can rotate the signing keys without the maker. */
    escrowMeetsRootThreshold: boolean;
  };
  devices: { total: number; canMove: number; share: number | null; rule: string };
  parts: {
    standard: Array<{ part: string; value: string }>;
    /** Config keys (names only) not at their default; null when this server was not started by `serve`. */
    customConfig: string[] | null;
  };
  successorNeeds: string[];
  warnings: ReadinessWarning[];
}

export interface ReadinessOptions {
  maxDepositAgeHours?: number;
  maxDrillAgeDays?: number;
}

const HOUR = 3_600_000;
const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function readinessReport(
  services: Services,
  orgId: string,
  options: ReadinessOptions = {},
): Promise<ReadinessReport> {
  const { store, clock, escrowSchedule, deployment } = services;
  const now = clock.now();
  const hoursSince = (at: string) => round((now.getTime() - Date.parse(at)) / HOUR, 1);
  const platform = store.db.selectFrom('audit_entries').selectAll().where('chain', '=', PLATFORM_CHAIN);
  const [org, depositRows, drillRow, repo, deviceCounts] = await Promise.all([
    services.orgs.get(orgId),
    platform.where('action', '=', 'escrow.deposit').orderBy('seq', 'desc').limit(DEPOSITS_SEARCHED).execute(),
    platform.where('action', '=', 'escrow.drill').orderBy('seq', 'desc').limit(1).executeTakeFirst(),
    services.updateRepository.status(orgId),
    store.db
      .selectFrom('devices')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('total'),
        eb.fn
          .sum<number | string | null>(
            eb
              .case()
              .when('endpoint_status', 'in', [...MOVABLE_STATUSES])
              .then(1)
              .else(0)
              .end(),
          )
          .as('movable'),
      ])
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
  ]);

  const limits: ReadinessReport['limits'] = {
    maxDepositAgeHours:
      options.maxDepositAgeHours ?? (escrowSchedule?.intervalHours || DEFAULT_MAX_DEPOSIT_AGE_HOURS),
    maxDepositAgeFrom:
      options.maxDepositAgeHours !== undefined
        ? 'option'
        : escrowSchedule?.intervalHours
          ? 'schedule'
          : 'default',
    maxDrillAgeDays: options.maxDrillAgeDays ?? DEFAULT_MAX_DRILL_AGE_DAYS,
  };

  const deposits = depositRows.map((row) => depositEntry(toEntry(row), orgId));
  const last = deposits[0];
  const verified = deposits.find((d) => d.check === 'verified');
  const recoveryPoint: ReadinessReport['recoveryPoint'] = {
    lastDeposit: last
      ? { depositId: last.depositId, at: last.at, ageHours: hoursSince(last.at), check: last.check }
      : null,
    lastVerifiedDeposit: verified
      ? { depositId: verified.depositId, at: verified.at, ageHours: hoursSince(verified.at) }
      : null,
  };

  let drill: ReadinessReport['drill'] = null;
  if (drillRow) {
    const entry = toEntry(drillRow);
    const d = drillEntry(entry);
    const reconnected = (entry.details as Record<string, unknown> | null)?.reconnected;
    drill = {
      at: d.at,
      ageDays: round(hoursSince(d.at) / 24, 1),
      ok: d.ok,
      devices: d.devices,
      served99Seconds: d.served99FromRestoreSeconds,
      reconnect99Seconds: d.reconnect99Seconds,
      movedShare: typeof reconnected === 'number' && d.devices ? round(reconnected / d.devices, 4) : null,
      featuresPassed: d.featuresPassed,
      featuresTotal: d.featuresTotal,
      failed: d.failed,
    };
  }

  const root = repo.root;
  const escrowInRoot = root ? root.escrowKeyIds.filter((id) => root.rootKeyIds.includes(id)).length : 0;
  const updateKeys: ReadinessReport['updateKeys'] = {
    initialized: repo.initialized,
    rootThreshold: root?.rootThreshold ?? 0,
    rootKeys: root?.rootKeyIds.length ?? 0,
    escrowKeysInRoot: escrowInRoot,
    escrowHoldsRootShare: escrowInRoot > 0,
    escrowMeetsRootThreshold: root !== null && escrowInRoot > 0 && escrowInRoot >= root.rootThreshold,
  };

  const total = Number(deviceCounts.total);
  const canMove = Number(deviceCounts.movable ?? 0);
  const devices = {
    total,
    canMove,
    share: total === 0 ? null : round(canMove / total, 4),
    rule: MOVABLE_RULE,
  };

  const parts: ReadinessReport['parts'] = {
    standard: [
      {
        part: 'database',
        value:
          store.dialect === 'postgres'
            ? 'PostgreSQL (SQL; restored from a deposit with brickless escrow restore)'
            : 'SQLite (one file; restored from a deposit with brickless escrow restore)',
      },
      {
        part: 'broker',
        value: 'built-in MQTT broker (MQTT 3.1.1/5 over TLS); no separate broker to take over',
      },
      { part: 'updates', value: 'The Update Framework (TUF) 1.0 metadata, Ed25519 signatures' },
      {
        part: 'tls',
        value: deployment
          ? `${deployment.httpTls ? 'HTTPS served by brickless' : 'HTTP behind a TLS-terminating proxy (the proxy is custom)'}; MQTT over TLS${deployment.mqttPlain ? ', and a plain-MQTT port for a closed LAN' : ''}`
          : 'not known (this server was not started by brickless serve)',
      },
    ],
    customConfig: deployment ? deployment.customConfig : null,
  };

  const report: ReadinessReport = {
    format: READINESS_FORMAT,
    createdAt: now.toISOString(),
    organization: { id: org.id, slug: org.slug, name: org.name },
    limits,
    recoveryPoint,
    drill,
    updateKeys,
    devices,
    parts,
    successorNeeds: [],
    warnings: [],
  };
  report.warnings = readinessWarnings(report);
  report.successorNeeds = successorNeeds(report);
  return report;
}

/** The warnings of a report: each a stable code (for scripts and notifications) and an English sentence. */
export function readinessWarnings(report: ReadinessReport): ReadinessWarning[] {
  const out: ReadinessWarning[] = [];
  const { recoveryPoint, drill, devices, updateKeys, limits } = report;
  const max = limits.maxDepositAgeHours;
  if (!recoveryPoint.lastDeposit)
    out.push({
      code: 'deposit-missing',
      message: 'No escrow deposit was made yet: a successor has nothing to restore.',
    });
  else if (recoveryPoint.lastDeposit.ageHours > max)
    out.push({
      code: 'deposit-old',
      message: `The last deposit is ${recoveryPoint.lastDeposit.ageHours} hours old, more than the agreed ${max} hours.`,
    });
  if (recoveryPoint.lastDeposit && !recoveryPoint.lastVerifiedDeposit)
    out.push({
      code: 'deposit-unverified',
      message:
        'No recent deposit verified on this server (manifest hash and signature): the recovery point is unknown.',
    });
  else if (recoveryPoint.lastVerifiedDeposit && recoveryPoint.lastVerifiedDeposit.ageHours > max)
    out.push({
      code: 'deposit-unverified',
      message: `The last verified deposit is ${recoveryPoint.lastVerifiedDeposit.ageHours} hours old, more than the agreed ${max} hours.`,
    });
  if (!drill)
    out.push({
      code: 'drill-missing',
      message: 'No takeover drill was recorded: the takeover was never tried.',
    });
  else {
    if (!drill.ok)
      out.push({
        code: 'drill-failed',
        message: `The last takeover drill failed${drill.failed.length ? ` (${drill.failed.join(', ')})` : ''}.`,
      });
    if (drill.ageDays > limits.maxDrillAgeDays)
      out.push({
        code: 'drill-old',
        message: `The last takeover drill is ${Math.floor(drill.ageDays)} days old, more than ${limits.maxDrillAgeDays} days.`,
      });
  }
  if (devices.total > 0 && devices.canMove < devices.total)
    out.push({
      code: 'devices-cannot-move',
      message: `${devices.total - devices.canMove} of ${devices.total} devices have not shown that their firmware accepts endpoint records: they may not move to a successor.`,
    });
  if (!updateKeys.escrowHoldsRootShare)
    out.push({
      code: 'escrow-key-missing',
      message: 'No escrow key is among the TUF root keys: a successor cannot sign updates without the maker.',
    });
  return out;
}

/** What a successor would still need, derived from the figures (docs/evidence.md). */
export function successorNeeds(report: ReadinessReport): string[] {
  const needs: string[] = [];
  const { recoveryPoint, drill, devices, updateKeys, parts } = report;
  if (!recoveryPoint.lastVerifiedDeposit)
    needs.push(
      'a verified escrow deposit to restore the service from (brickless escrow deposit, then escrow verify)',
    );
  if (!updateKeys.initialized)
    needs.push('an update repository: none is initialised, so devices have no root of trust for updates');
  else if (!updateKeys.escrowHoldsRootShare)
    needs.push('an escrow key in the TUF root: without one the successor cannot sign updates or rotate keys');
  else if (!updateKeys.escrowMeetsRootThreshold)
    needs.push(
      `the maker's cooperation to sign a new root: the escrow keys hold ${updateKeys.escrowKeysInRoot} of the ${updateKeys.rootThreshold} root signatures needed`,
    );
  if (devices.total > 0 && devices.canMove < devices.total)
    needs.push(
      `a firmware update that accepts endpoint records on ${devices.total - devices.canMove} devices, or physical access to them`,
    );
  if (!drill?.ok) needs.push('a passed takeover drill (brickless escrow drill) to know the restore works');
  if (parts.customConfig === null)
    needs.push(
      "this installation's configuration: it was not reported (the server was not started by brickless serve)",
    );
  else if (parts.customConfig.length > 0)
    needs.push(`the values of the custom configuration keys: ${parts.customConfig.join(', ')}`);
  needs.push("the escrow agents' age identities to open the sealed secrets of the deposit");
  return needs;
}

/** The headline figures recorded with each report (`continuity.readiness` in the organisation's chain). */
export function headline(report: ReadinessReport) {
  return {
    depositAgeHours: report.recoveryPoint.lastDeposit?.ageHours ?? null,
    verifiedDepositAgeHours: report.recoveryPoint.lastVerifiedDeposit?.ageHours ?? null,
    drillOk: report.drill?.ok ?? null,
    drillAgeDays: report.drill?.ageDays ?? null,
    served99Seconds: report.drill?.served99Seconds ?? null,
    drillMovedShare: report.drill?.movedShare ?? null,
    escrowHoldsRootShare: report.updateKeys.escrowHoldsRootShare,
    devicesTotal: report.devices.total,
    devicesCanMoveShare: report.devices.share,
    warnings: report.warnings.map((w): string => w.code),
  };
}
export type ReadinessHeadline = ReturnType<typeof headline>;

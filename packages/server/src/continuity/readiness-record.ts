import { toEntry } from '../audit/service.js';
import { DomainError } from '../errors.js';
import { loadDepositKey } from '../escrow/signing.js';
import { EVIDENCE_FORMAT, type EvidenceManifest, sealPack } from '../evidence/manifest.js';
import type { Services } from '../services.js';
import { VERSION } from '../version.js';
import {
  headline,
  type ReadinessHeadline,
  type ReadinessOptions,
  type ReadinessReport,
  readinessReport,
} from './readiness.js';

export const READINESS_ACTION = 'continuity.readiness';
export const READINESS_FILE = 'readiness.json';

/**
 * Builds the report and records its headline figures in the organisation's audit chain, so the
 * history (GET …/readiness/history) shows a downward trend; the chain's hashes keep that history
 * from being rewritten quietly.
 */
export async function buildAndRecord(
  services: Services,
  orgId: string,
  actor: string,
  options: ReadinessOptions,
): Promise<ReadinessReport> {
  const report = await readinessReport(services, orgId, options);
  await services.store.db.transaction().execute((trx) =>
    services.audit.append(trx, orgId, {
      actor,
      action: READINESS_ACTION,
      targetType: 'organization',
      targetId: orgId,
      details: { ...headline(report), limits: report.limits },
    }),
  );
  return report;
}

/**
 * The report as a small ZIP like the evidence pack: `readiness.json` and a manifest signed with
 * the deposit key, so `brickless evidence verify FILE --key KEY` checks it offline.
 */
export function signReport(
  services: Services,
  report: ReadinessReport,
): { archive: Buffer; manifest: EvidenceManifest } {
  if (!services.dataDir)
    throw new DomainError('conflict', 'this server has no data dir, so no key to sign the report with');
  const key = loadDepositKey(services.dataDir);
  const files = new Map([[READINESS_FILE, Buffer.from(`${JSON.stringify(report, null, 2)}\n`)]]);
  return sealPack(
    files,
    {
      format: EVIDENCE_FORMAT,
      kind: 'takeover-readiness',
      createdAt: report.createdAt,
      brickless: VERSION,
      organization: report.organization,
      product: null,
    },
    key,
  );
}

export interface HistoryPoint extends ReadinessHeadline {
  at: string;
  actor: string;
}

/** The recorded reports of an organisation, newest first. */
export async function readinessHistory(
  services: Services,
  orgId: string,
  limit: number,
): Promise<HistoryPoint[]> {
  const rows = await services.store.db
    .selectFrom('audit_entries')
    .selectAll()
    .where('chain', '=', orgId)
    .where('action', '=', READINESS_ACTION)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => {
    const entry = toEntry(row);
    const d = (entry.details ?? {}) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' ? v : null);
    const bool = (v: unknown) => (typeof v === 'boolean' ? v : null);
    return {
      at: entry.at,
      actor: entry.actor,
      depositAgeHours: num(d.depositAgeHours),
      verifiedDepositAgeHours: num(d.verifiedDepositAgeHours),
      drillOk: bool(d.drillOk),
      drillAgeDays: num(d.drillAgeDays),
      served99Seconds: num(d.served99Seconds),
      drillMovedShare: num(d.drillMovedShare),
      escrowHoldsRootShare: d.escrowHoldsRootShare === true,
      devicesTotal: num(d.devicesTotal) ?? 0,
      devicesCanMoveShare: num(d.devicesCanMoveShare),
      warnings: Array.isArray(d.warnings) ? d.warnings.filter((w) => typeof w === 'string') : [],
    };
  });
}

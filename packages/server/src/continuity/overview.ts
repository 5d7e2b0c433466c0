import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PLATFORM_CHAIN, toEntry } from '../audit/service.js';
import { type DepositManifest, signedPart } from '../escrow/manifest.js';
import { sha256Of } from '../escrow/objects.js';
import type { EscrowSchedule } from '../escrow/service.js';
import { loadDepositKey, verifyDocument } from '../escrow/signing.js';
import type { Services } from '../services.js';
import type { HandoverStatus } from './endpoints.js';

/** Deposits (made and refused) the overview lists, newest first: a timeline, not an archive. */
export const DEPOSITS_SHOWN = 10;

export type DepositCheck = 'verified' | 'failed' | 'unavailable';

export interface DepositEntry {
  /** `deposit` made, or `refused` because the audit log was behind the previous deposit. */
  kind: 'deposit' | 'refused';
  /** The audit entry recording it. */
  auditId: string;
  at: string;
  actor: string;
  /** The deposit's id (for a refusal: the previous deposit it was compared with). */
  depositId: string;
  sequence: number | null;
  rows: number | null;
  artifacts: number | null;
  newBytes: number | null;
  seconds: number | null;
  manifestSha256: string | null;
  /** The deposit key (Ed25519, base64url) that signed the manifest. */
  signedBy: string | null;
  /**
   * The server's own check of the manifest on disk: its SHA-256 is the recorded one and its
   * signature holds (`verified`); `unavailable` when this server cannot read the escrow directory
   * (a share mounted elsewhere). Restorability is the agent's `brickless escrow verify --identity`.
   */
  check: DepositCheck | null;
  checkDetail: string | null;
  /** Why a deposit was refused; other organisations' chains are not named. */
  reason: string | null;
}

export interface DrillEntry {
  at: string;
  actor: string;
  ok: boolean;
  seconds: number | null;
  devices: number | null;
  source: string | null;
  target: string | null;
  depositSeconds: number | null;
  rows: number | null;
  megabytes: number | null;
  restoreSeconds: number | null;
  reconnect99Seconds: number | null;
  served99FromRestoreSeconds: number | null;
  devicesLost: number | null;
  rowsLost: number | null;
  featuresPassed: number | null;
  featuresTotal: number | null;
  failed: string[];
}

export interface ContinuityOverview {
  /** Deposits and drills cover the whole platform (every organisation); the handover is this organisation's. */
  scope: { deposits: 'platform'; handover: 'organization' };
  schedule: { intervalHours: number; recipients: number; configured: boolean };
  depositKey: { publicKey: string } | null;
  deposits: DepositEntry[];
  lastDrill: DrillEntry | null;
  handover: HandoverStatus;
}

type Details = Record<string, unknown>;
const num = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The continuity overview of one organisation: the platform's deposits and last drill read back
 * from the platform audit chain (`escrow.deposit`, `escrow.deposit-refused`, `escrow.drill`), the
 * schedule from config, the deposit key's public half, and the organisation's own handover state.
 */
export async function continuityOverview(
  {
    store,
    endpoints,
    dataDir,
    escrowSchedule,
  }: Pick<Services, 'store' | 'endpoints' | 'dataDir' | 'escrowSchedule'>,
  orgId: string,
  /**
   * Deposits and drills cover the whole installation: only a platform admin sees their sizes,
   * who ran them and why one was refused. An organisation sees when, whether and by which key.
   */
  { platformView }: { platformView: boolean } = { platformView: false },
): Promise<ContinuityOverview> {
  const platform = store.db.selectFrom('audit_entries').selectAll().where('chain', '=', PLATFORM_CHAIN);
  const [depositRows, drillRow, handover] = await Promise.all([
    platform
      .where('action', 'in', ['escrow.deposit', 'escrow.deposit-refused'])
      .orderBy('seq', 'desc')
      .limit(DEPOSITS_SHOWN)
      .execute(),
    platform.where('action', '=', 'escrow.drill').orderBy('seq', 'desc').limit(1).executeTakeFirst(),
    endpoints.status(orgId),
  ]);
  const schedule: EscrowSchedule = escrowSchedule ?? { dir: null, intervalHours: 0, recipients: 0 };
  return {
    scope: { deposits: 'platform', handover: 'organization' },
    schedule: {
      intervalHours: schedule.intervalHours,
      recipients: schedule.recipients,
      configured: schedule.intervalHours > 0 && schedule.dir !== null && schedule.recipients > 0,
    },
    depositKey: depositPublicKey(dataDir),
    deposits: depositRows.map((row) => {
      const entry = depositEntry(toEntry(row), orgId);
      return platformView ? entry : depositForOrganisation(entry);
    }),
    lastDrill: drillRow
      ? platformView
        ? drillEntry(toEntry(drillRow))
        : drillForOrganisation(drillEntry(toEntry(drillRow)))
      : null,
    handover,
  };
}

function depositPublicKey(dataDir: string | null): { publicKey: string } | null {
  if (!dataDir) return null;
  try {
    return { publicKey: loadDepositKey(dataDir, { create: false }).publicKey };
  } catch {
    // No deposit was made from this data dir yet: the key is made by the first one.
    return null;
  }
}

export function depositEntry(entry: ReturnType<typeof toEntry>, orgId: string): DepositEntry {
  const details = (entry.details ?? {}) as Details;
  const refused = entry.action === 'escrow.deposit-refused';
  const base = {
    kind: refused ? ('refused' as const) : ('deposit' as const),
    auditId: entry.id,
    at: entry.at,
    actor: entry.actor,
    depositId: entry.targetId,
    sequence: num(details.sequence),
    rows: num(details.rows),
    artifacts: num(details.artifacts),
    newBytes: num(details.newBytes),
    seconds: num(details.seconds),
    manifestSha256: str(details.manifestSha256),
    signedBy: str(details.signedBy),
  };
  if (refused) {
    const problems = Array.isArray(details.problems)
      ? details.problems.filter((p) => typeof p === 'string')
      : [];
    return { ...base, check: null, checkDetail: null, reason: redact(problems, orgId).join('; ') || null };
  }
  const { check, detail } = checkDeposit(
    str(details.out),
    entry.targetId,
    base.manifestSha256,
    base.signedBy,
  );
  return { ...base, check, checkDetail: detail, reason: null };
}

/** Other organisations' chain names (their ids) are not this organisation's business. */
function redact(problems: string[], orgId: string): string[] {
  return problems.map((problem) =>
    problem.replace(/chain (\S+)/g, (whole, chain: string) =>
      chain === orgId || chain === PLATFORM_CHAIN ? whole : "another organisation's chain",
    ),
  );
}

/** Reads the deposit's manifest where it was written and checks its hash and signature. */
function checkDeposit(
  out: string | null,
  depositId: string,
  sha256: string | null,
  signedBy: string | null,
): { check: DepositCheck; detail: string | null } {
  if (!out || !/^[A-Za-z0-9._-]+$/.test(depositId)) return { check: 'unavailable', detail: null };
  const file = join(out, 'deposits', depositId, 'manifest.json');
  if (!existsSync(file))
    return { check: 'unavailable', detail: 'the escrow directory is not readable from this server' };
  try {
    const text = readFileSync(file);
    if (sha256 && sha256Of(text) !== sha256)
      return { check: 'failed', detail: 'the manifest on disk is not the one deposited (SHA-256 differs)' };
    const manifest = JSON.parse(text.toString('utf8')) as DepositManifest;
    const signature = manifest.signature;
    if (!signature || (signedBy && signature.key !== signedBy))
      return { check: 'failed', detail: 'the manifest is not signed by the recorded deposit key' };
    if (!verifyDocument(signature.key, signedPart(manifest), signature.value))
      return { check: 'failed', detail: 'the manifest signature does not verify' };
    return { check: 'verified', detail: null };
  } catch (error) {
    // The error's text names paths on the server: it goes to the log, not to the client.
    void error;
    return { check: 'failed', detail: 'the manifest cannot be read or is not JSON' };
  }
}

/** Who ran it, as an organisation may see it: the kind of actor, not an operator's login name. */
function actorKind(actor: string): string {
  return actor.startsWith('system:') ? actor : (actor.split(':')[0] ?? 'unknown');
}

/** A deposit as an organisation sees it: when, whether, which key; no installation sizes. */
function depositForOrganisation(entry: DepositEntry): DepositEntry {
  return {
    ...entry,
    actor: actorKind(entry.actor),
    rows: null,
    artifacts: null,
    newBytes: null,
    reason: entry.kind === 'refused' ? 'the audit log was behind the previous deposit' : null,
  };
}

/** A drill as an organisation sees it: the outcome and its times; no installation sizes. */
function drillForOrganisation(entry: DrillEntry): DrillEntry {
  return { ...entry, actor: actorKind(entry.actor), rows: null, megabytes: null, rowsLost: null };
}

export function drillEntry(entry: ReturnType<typeof toEntry>): DrillEntry {
  const d = (entry.details ?? {}) as Details;
  const deposit = (d.deposit ?? {}) as Details;
  const features = (d.features ?? {}) as Details;
  return {
    at: entry.at,
    actor: entry.actor,
    ok: d.ok === true,
    seconds: num(d.seconds),
    devices: num(d.devices),
    source: str(d.source),
    target: str(d.target),
    depositSeconds: num(deposit.seconds),
    rows: num(deposit.rows),
    megabytes: num(deposit.megabytes),
    restoreSeconds: num(d.restoreSeconds),
    reconnect99Seconds: num(d.reconnect99Seconds),
    served99FromRestoreSeconds: num(d.served99FromRestoreSeconds),
    devicesLost: num(d.devicesLost),
    rowsLost: num(d.rowsLost),
    featuresPassed: num(features.passed),
    featuresTotal: num(features.total),
    failed: Array.isArray(features.failed) ? features.failed.filter((f) => typeof f === 'string') : [],
  };
}

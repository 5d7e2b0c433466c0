/**
 * The time-based events (issue 18 §4, issue 21 §3): nothing changes in the database when a
 * report clock runs down or a TUF role nears its expiry, so a job looks. Each event is recorded
 * once: its dedupe key goes into `notification_dedupe` in the same transaction as the event, and
 * a key that exists already means the event was recorded before.
 */
import type { Transaction } from 'kysely';
import { readinessReport } from '../continuity/readiness.js';
import type { OwnerEventType } from '../owner-notices/catalogue.js';
import type { Services } from '../services.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { ROOT_WARNING_DAYS, TARGETS_WARNING_DAYS } from '../updates/repository.js';
import { type CaseKind, stageClocks } from '../vulnerabilities/report-clock.js';
import type { OutboundEventType } from './catalogue.js';
import type { Outbox } from './outbox.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** A report stage is announced when a quarter of its time is left (6 h of 24, 18 h of 72, 3.5 d of 14). */
export const REPORT_WARNING_SHARE = 0.25;

/** Records the event unless `key` was recorded before; true when it recorded it now. */
export async function recordOnce(
  outbox: Outbox,
  trx: Transaction<Database>,
  key: string,
  orgId: string,
  type: OutboundEventType | OwnerEventType,
  data: Record<string, unknown>,
  now: string,
): Promise<boolean> {
  const inserted = await trx
    .insertInto('notification_dedupe')
    .values({ key, org_id: orgId, created_at: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 0) return false;
  await outbox.record(orgId, type, data, trx);
  return true;
}

/** `report.deadline`: each open case's stages with a quarter (or less) of their time left; once per stage. */
export async function checkReportDeadlines(
  services: Pick<Services, 'store' | 'clock' | 'outbox'>,
): Promise<number> {
  const { db } = services.store;
  const now = services.clock.now();
  const cases = await db.selectFrom('report_cases').selectAll().where('status', '=', 'open').execute();
  let recorded = 0;
  for (const c of cases) {
    const submissions = await db
      .selectFrom('report_submissions')
      .select(['stage', 'submitted_at as submittedAt'])
      .where('case_id', '=', c.id)
      .execute();
    const clocks = stageClocks(
      { kind: c.kind as CaseKind, awareAt: c.aware_at, correctiveAvailableAt: c.corrective_available_at },
      submissions,
      now,
    );
    const notification = submissions
      .filter((s) => s.stage === 'notification')
      .map((s) => s.submittedAt)
      .sort()[0];
    for (const clock of clocks) {
      if (!clock.dueAt || (clock.state !== 'due' && clock.state !== 'overdue')) continue;
      // The stage's clock starts at awareness (24 h, 72 h), at the corrective measure (final
      // report of a vulnerability, 14 days) or at the notification (final report of an incident).
      const start =
        clock.stage === 'final-report'
          ? c.kind === 'vulnerability'
            ? c.corrective_available_at
            : (notification ?? null)
          : c.aware_at;
      if (!start) continue;
      const due = Date.parse(clock.dueAt);
      const left = due - now.getTime();
      if (left > REPORT_WARNING_SHARE * (due - Date.parse(start))) continue;
      const did = await inTransaction(db, (trx) =>
        recordOnce(
          services.outbox,
          trx,
          `report.deadline:${c.id}:${clock.stage}`,
          c.org_id,
          'report.deadline',
          {
            reportCaseId: c.id,
            vulnerabilityId: c.vuln_id ?? '',
            stage: clock.stage,
            dueAt: clock.dueAt,
            hoursLeft: Math.round((left / HOUR) * 10) / 10,
          },
          now.toISOString(),
        ),
      );
      if (did) recorded += 1;
    }
  }
  return recorded;
}

/**
 * `signing.expiring`: root within ROOT_WARNING_DAYS, targets within TARGETS_WARNING_DAYS of
 * expiry (the offline keys' holders need time), snapshot and timestamp once expired (the server
 * re-signs them at half-life, so an expired one means its online key cannot sign); once per role
 * and expiry date, so a new signature with a new expiry is announced again when it nears.
 */
export async function checkSigningExpiry(
  services: Pick<Services, 'store' | 'clock' | 'outbox' | 'updateRepository'>,
): Promise<number> {
  const { db } = services.store;
  const now = services.clock.now();
  const orgs = await db.selectFrom('tuf_metadata').select('org_id').groupBy('org_id').execute();
  let recorded = 0;
  for (const { org_id: orgId } of orgs) {
    const status = await services.updateRepository.status(orgId);
    const roles: Array<[string, string | undefined, number]> = [
      ['root', status.root?.expires, ROOT_WARNING_DAYS * DAY],
      ['targets', status.targets?.expires, TARGETS_WARNING_DAYS * DAY],
      ['snapshot', status.snapshot?.expires, 0],
      ['timestamp', status.timestamp?.expires, 0],
    ];
    for (const [role, expires, ahead] of roles) {
      if (!expires) continue;
      const left = Date.parse(expires) - now.getTime();
      if (left > ahead) continue;
      const did = await inTransaction(db, (trx) =>
        recordOnce(
          services.outbox,
          trx,
          `signing.expiring:${orgId}:${role}:${expires}`,
          orgId,
          'signing.expiring',
          { role, expiresAt: expires, daysLeft: Math.round((left / DAY) * 10) / 10 },
          now.toISOString(),
        ),
      );
      if (did) recorded += 1;
    }
  }
  return recorded;
}

/**
 * `continuity.warning`: one event per warning code of each organisation's takeover readiness
 * report while it persists (issue 21 §3). A code that no longer shows loses its key, so it is
 * announced again if it comes back.
 */
export async function checkReadiness(services: Services): Promise<number> {
  const { db } = services.store;
  const now = services.clock.now().toISOString();
  const orgs = await db.selectFrom('organizations').select('id').orderBy('id').execute();
  let recorded = 0;
  for (const { id: orgId } of orgs) {
    const report = await readinessReport(services, orgId);
    const prefix = `continuity.warning:${orgId}:`;
    const codes = new Set<string>(report.warnings.map((w) => w.code));
    await inTransaction(db, async (trx) => {
      const held = await trx
        .selectFrom('notification_dedupe')
        .select('key')
        .where('org_id', '=', orgId)
        .where('key', 'like', `${prefix}%`)
        .execute();
      const gone = held.map((h) => h.key).filter((key) => !codes.has(key.slice(prefix.length)));
      if (gone.length > 0) await trx.deleteFrom('notification_dedupe').where('key', 'in', gone).execute();
      const seen = new Set<string>();
      for (const warning of report.warnings) {
        if (seen.has(warning.code)) continue;
        seen.add(warning.code);
        if (
          await recordOnce(
            services.outbox,
            trx,
            `${prefix}${warning.code}`,
            orgId,
            'continuity.warning',
            { code: warning.code, message: warning.message },
            now,
          )
        )
          recorded += 1;
      }
    });
  }
  return recorded;
}

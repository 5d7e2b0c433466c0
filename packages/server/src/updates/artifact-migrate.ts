import { readdir } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import { AuditLog, PLATFORM_CHAIN } from '../audit/service.js';
import { systemClock } from '../clock.js';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { type ArtifactStore, FilesystemArtifactStore } from './artifact-store.js';

export interface ArtifactMigrationReport {
  from: ArtifactStore['kind'];
  to: ArtifactStore['kind'];
  /** Artifacts the database lists. */
  total: number;
  /** Copied by this run. */
  copied: number;
  /** Already in the target (an earlier or interrupted run copied them): skipped. */
  present: number;
  copiedBytes: number;
  /** Listed but in neither store: named, so a person can find them (an escrow restore has them). */
  missing: { orgId: string; sha256: string }[];
}

/**
 * Copies every artifact the database lists from one store to another (issue 19 §4: a node
 * moving to PostgreSQL or S3 with images still in its data directory). Idempotent and resumable:
 * an artifact already in the target with its length is skipped, and each copy is one atomic
 * `put` verified against the SHA-256 it is filed under, so a run cut short leaves complete
 * artifacts and nothing half-written; running it again finishes the rest. The source is only read.
 */
export async function migrateArtifacts(
  db: Kysely<Database>,
  from: ArtifactStore,
  to: ArtifactStore,
  onProgress?: (done: number, total: number) => void,
): Promise<ArtifactMigrationReport> {
  const rows = await db
    .selectFrom('artifacts')
    .select(['org_id', 'sha256', 'length'])
    .orderBy('org_id')
    .orderBy('sha256')
    .execute();
  const report: ArtifactMigrationReport = {
    from: from.kind,
    to: to.kind,
    total: rows.length,
    copied: 0,
    present: 0,
    copiedBytes: 0,
    missing: [],
  };
  for (const [index, row] of rows.entries()) {
    const length = Number(row.length);
    if ((await to.size(row.org_id, row.sha256)) === length) report.present++;
    else if ((await from.size(row.org_id, row.sha256)) === null)
      report.missing.push({ orgId: row.org_id, sha256: row.sha256 });
    else {
      const stored = await to.put(row.org_id, await from.read(row.org_id, row.sha256), length, {
        sha256: row.sha256,
      });
      report.copied++;
      report.copiedBytes += stored.length;
    }
    onProgress?.(index + 1, rows.length);
  }
  return report;
}

/**
 * At the start of a node whose `artifacts.store` is `auto` on PostgreSQL: images an earlier
 * version kept in the data directory are copied into the PostgreSQL store before the node
 * serves, so an upgrade does not turn their downloads into 503s (issue 19 §4). Once copied,
 * later starts find them present and copy nothing. A failure is logged with the command that
 * finishes the job; the node starts regardless.
 */
export async function adoptLocalArtifacts(
  db: Kysely<Database>,
  dir: string,
  target: ArtifactStore,
  log: {
    info(o: object, m: string): void;
    warn(o: object, m: string): void;
    error(o: object, m: string): void;
  },
): Promise<ArtifactMigrationReport | null> {
  if (target.kind !== 'postgres') return null;
  let orgs: string[];
  try {
    orgs = (await readdir(dir)).filter((name) => name.startsWith('org_'));
  } catch {
    return null;
  }
  if (orgs.length === 0) return null;
  try {
    const report = await migrateArtifacts(db, new FilesystemArtifactStore(dir), target);
    await auditArtifactMigration(db, 'postgres', 'system:serve', report);
    if (report.copied > 0)
      log.info(
        { ...report, missing: report.missing.length },
        `copied ${report.copied} artifacts from ${dir} into PostgreSQL`,
      );
    if (report.missing.length > 0)
      log.warn(
        { missing: report.missing },
        `${report.missing.length} artifacts are in neither ${dir} nor PostgreSQL`,
      );
    return report;
  } catch (error) {
    log.error(
      { err: error },
      `copying the artifacts of ${dir} into PostgreSQL failed; finish with: brickless artifacts migrate --to postgres`,
    );
    return null;
  }
}

/**
 * Records a migration that copied something in the platform audit chain (`artifacts.migrate`):
 * where the bytes a cluster serves come from changed, and who did it.
 */
export async function auditArtifactMigration(
  db: Kysely<Database>,
  dialect: Dialect,
  actor: string,
  report: ArtifactMigrationReport,
): Promise<void> {
  if (report.copied === 0) return;
  const audit = new AuditLog({ clock: systemClock, dialect });
  await db.transaction().execute((trx) =>
    audit.append(trx, PLATFORM_CHAIN, {
      actor,
      action: 'artifacts.migrate',
      targetType: 'artifact-store',
      targetId: report.to,
      details: {
        from: report.from,
        total: report.total,
        copied: report.copied,
        copiedBytes: report.copiedBytes,
        missing: report.missing.length,
      },
    }),
  );
}

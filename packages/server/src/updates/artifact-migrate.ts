import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { ArtifactStore } from './artifact-store.js';

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

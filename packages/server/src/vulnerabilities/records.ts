import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import type { Database, VulnerabilitiesTable } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { chunks } from './chunks.js';
import type { KnownExploited, VulnerabilityRecord } from './feeds/record.js';

const CVE = /^CVE-\d{4}-\d{4,}$/;

/**
 * The name a vulnerability is known by across sources: its CVE when the record is a CVE or has
 * exactly one CVE alias (GHSA-p6mc… → CVE-2020-8203), else the record's own id (a USN covering
 * several CVEs stays USN-…). Triage, exposure and report cases are kept per canonical id, so a
 * decision about CVE-2020-8203 covers the GitHub and the NVD record alike.
 */
export function canonicalIdOf(record: Pick<VulnerabilityRecord, 'id' | 'aliases'>): string {
  if (CVE.test(record.id)) return record.id;
  const cves = [...new Set(record.aliases.filter((a) => CVE.test(a)))];
  return cves.length === 1 ? (cves[0] as string) : record.id;
}

export interface ImportCounts {
  created: number;
  updated: number;
  unchanged: number;
  /** Records whose stored form changed: these are matched again. */
  changedIds: string[];
}

/** Writes records; a record replaces the stored one only when its `modified` is newer. */
export async function storeRecords(
  trx: Executor,
  clock: Clock,
  records: VulnerabilityRecord[],
): Promise<ImportCounts> {
  const counts: ImportCounts = { created: 0, updated: 0, unchanged: 0, changedIds: [] };
  // The same id twice in one batch: the newest wins, as across batches.
  const newest = new Map<string, VulnerabilityRecord>();
  for (const r of records) {
    const seen = newest.get(r.id);
    if (!seen || r.modified > seen.modified) newest.set(r.id, r);
  }
  const unique = [...newest.values()];
  const existing = new Map<string, string>();
  for (const ids of chunks(unique.map((r) => r.id))) {
    const rows = await trx
      .selectFrom('vulnerabilities')
      .select(['id', 'modified'])
      .where('id', 'in', ids)
      .execute();
    for (const row of rows) existing.set(row.id, row.modified);
  }
  const now = clock.now().toISOString();
  const toWrite: VulnerabilityRecord[] = [];
  for (const r of unique) {
    const stored = existing.get(r.id);
    if (stored !== undefined && stored >= r.modified) counts.unchanged++;
    else {
      if (stored === undefined) counts.created++;
      else counts.updated++;
      toWrite.push(r);
    }
  }
  const updatedIds = toWrite.filter((r) => existing.has(r.id)).map((r) => r.id);
  for (const ids of chunks(updatedIds)) {
    await trx.deleteFrom('vulnerability_ids').where('vuln_id', 'in', ids).execute();
    await trx.deleteFrom('vulnerability_affected').where('vuln_id', 'in', ids).execute();
    await trx.deleteFrom('vulnerabilities').where('id', 'in', ids).execute();
  }
  for (const batch of chunks(toWrite, 200)) {
    await trx
      .insertInto('vulnerabilities')
      .values(
        batch.map(
          (r): VulnerabilitiesTable => ({
            id: r.id,
            canonical_id: canonicalIdOf(r),
            source: r.source,
            modified: r.modified,
            published: r.published,
            withdrawn: r.withdrawn,
            summary: r.summary,
            details: r.details,
            aliases: JSON.stringify(r.aliases),
            severity_rating: r.severity.rating,
            severity_score: r.severity.score,
            severity_vector: r.severity.vector,
            reference_urls: JSON.stringify(r.references),
            imported_at: now,
          }),
        ),
      )
      .execute();
    const ids = batch.flatMap((r) =>
      [...new Set([r.id, ...r.aliases])].map((alias) => ({ alias, vuln_id: r.id })),
    );
    for (const part of chunks(ids)) await trx.insertInto('vulnerability_ids').values(part).execute();
    const affected = batch.flatMap((r) =>
      r.affected.map((a, idx) => ({
        vuln_id: r.id,
        idx,
        key: a.key,
        scheme: a.scheme,
        distro: a.distro,
        intervals: JSON.stringify(a.intervals),
        versions: JSON.stringify(a.versions),
        summary: a.summary.slice(0, 2000),
      })),
    );
    for (const part of chunks(affected, 400))
      await trx.insertInto('vulnerability_affected').values(part).execute();
  }
  counts.changedIds = toWrite.map((r) => r.id);
  return counts;
}

/** Replaces the KEV catalog with the given one; returns the CVEs that were not listed before. */
export async function storeKnownExploited(
  trx: Executor,
  clock: Clock,
  catalogVersion: string,
  entries: KnownExploited[],
): Promise<{ added: string[]; total: number }> {
  const before = new Set(
    (await trx.selectFrom('known_exploited').select('cve_id').execute()).map((r) => r.cve_id),
  );
  const now = clock.now().toISOString();
  const added: string[] = [];
  for (const batch of chunks(entries, 300)) {
    for (const e of batch) if (!before.has(e.cveId)) added.push(e.cveId);
    await trx
      .insertInto('known_exploited')
      .values(
        batch.map((e) => ({
          cve_id: e.cveId,
          vendor: e.vendor,
          product: e.product,
          name: e.name,
          date_added: e.dateAdded,
          due_date: e.dueDate,
          ransomware: e.ransomware,
          required_action: e.requiredAction,
          catalog_version: catalogVersion,
          imported_at: now,
        })),
      )
      .onConflict((oc) =>
        oc.column('cve_id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'),
          due_date: eb.ref('excluded.due_date'),
          ransomware: eb.ref('excluded.ransomware'),
          required_action: eb.ref('excluded.required_action'),
          catalog_version: eb.ref('excluded.catalog_version'),
        })),
      )
      .execute();
  }
  return { added: [...new Set(added)], total: entries.length };
}

/** Every record id belonging to the vulnerability a user names by any of its ids. */
export async function resolveVulnerability(
  db: Kysely<Database> | Executor,
  name: string,
): Promise<{ canonicalId: string; recordIds: string[] } | null> {
  const direct = await db
    .selectFrom('vulnerability_ids')
    .innerJoin('vulnerabilities', 'vulnerabilities.id', 'vulnerability_ids.vuln_id')
    .select('vulnerabilities.canonical_id')
    .where('vulnerability_ids.alias', '=', name)
    .execute();
  const canonical = direct.find((r) => r.canonical_id === name)?.canonical_id ?? direct[0]?.canonical_id;
  if (!canonical) return null;
  const records = await db
    .selectFrom('vulnerabilities')
    .select('id')
    .where('canonical_id', '=', canonical)
    .execute();
  return { canonicalId: canonical, recordIds: records.map((r) => r.id) };
}

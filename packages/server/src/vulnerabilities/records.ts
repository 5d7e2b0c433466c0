import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { conflict } from '../errors.js';
import type { Database, VulnerabilitiesTable } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { chunks } from './chunks.js';
import type { KnownExploited, VulnerabilityRecord } from './feeds/record.js';

const CVE = /^CVE-\d{4}-\d{4,}$/;

export const isCve = (id: string): boolean => CVE.test(id);

/**
 * The CVE a name stands for: a CVE id, or a source's own record of one, which OSV names
 * `{SOURCE}-CVE-…` (USN-5844-1's `upstream` lists `UBUNTU-CVE-2023-0286`; Debian writes
 * `DEBIAN-CVE-…`, curl `CURL-CVE-…`).
 */
export function cveOf(name: string): string | null {
  return /^(?:[A-Za-z]+-)?(CVE-\d{4}-\d{4,})$/.exec(name)?.[1] ?? null;
}

const cvesOf = (names: string[]): string[] => [...new Set(names.map(cveOf).filter((c) => c !== null))].sort();

/** A record as far as grouping is concerned: its id and the other ids it names. */
export interface NamedRecord {
  id: string;
  /** OSV `aliases` and `upstream`, and `related` for distribution records (feeds/osv.ts). */
  aliases: string[];
}

const namesOf = (r: NamedRecord): string[] => [r.id, ...r.aliases];

/** Among ids that are not CVEs, the one a group is called by: a GitHub advisory, else the first. */
function preferredId(ids: Iterable<string>): string {
  const sorted = [...new Set(ids)].sort();
  return sorted.find((id) => id.startsWith('GHSA-')) ?? (sorted[0] as string);
}

/**
 * The vulnerabilities (canonical ids) a record belongs to. A vulnerability is named by its CVE:
 * - a record that is a CVE, or names CVEs (OSV `aliases`/`upstream`, distribution `related`),
 *   belongs to each CVE it names: GHSA-p6mc… to CVE-2020-8203, USN-5844-1 to each of its eight
 *   CVEs, GO-2023-2102 to CVE-2023-39325 and CVE-2023-44487. Several CVEs are never merged into
 *   one: a distribution notice that fixes eight CVEs does not make them one vulnerability.
 * - a record naming no CVE takes the CVEs of its neighbours (records sharing one of its ids:
 *   GO-x aliases GHSA-y, and GHSA-y names the CVE);
 * - else the group is named by a GitHub advisory id among the record and its neighbours, or the
 *   first id in order, so GO-x, PYSEC-z and GHSA-y without any CVE are still one vulnerability.
 */
export function groupsOf(record: NamedRecord, neighbours: NamedRecord[]): string[] {
  const own = cvesOf(namesOf(record));
  if (own.length > 0) return own;
  const near = cvesOf(neighbours.flatMap(namesOf));
  if (near.length > 0) return near;
  return [preferredId([...namesOf(record), ...neighbours.flatMap(namesOf)])];
}

/** The canonical id a record is stored with before its neighbours are known (its first group). */
export function canonicalIdOf(record: NamedRecord): string {
  return groupsOf(record, [])[0] as string;
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
  // The groups the replaced records were in: their other members may regroup without them.
  const formerGroups = new Set<string>();
  for (const ids of chunks(updatedIds))
    for (const g of await trx
      .selectFrom('vulnerability_groups')
      .select('canonical_id')
      .where('vuln_id', 'in', ids)
      .execute())
      formerGroups.add(g.canonical_id);
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
  await regroup(trx, counts.changedIds, [...formerGroups]);
  return counts;
}

async function loadNamed(
  trx: Executor,
  ids: Iterable<string>,
): Promise<Map<string, NamedRecord & { canonicalId: string }>> {
  const out = new Map<string, NamedRecord & { canonicalId: string }>();
  for (const part of chunks([...new Set(ids)]))
    for (const r of await trx
      .selectFrom('vulnerabilities')
      .select(['id', 'aliases', 'canonical_id'])
      .where('id', 'in', part)
      .execute())
      out.set(r.id, { id: r.id, aliases: JSON.parse(r.aliases) as string[], canonicalId: r.canonical_id });
  return out;
}

/** Record ids that hold any of the names as their id or an alias. */
async function holdersOf(trx: Executor, names: Iterable<string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const part of chunks([...new Set(names)]))
    for (const r of await trx
      .selectFrom('vulnerability_ids')
      .select(['alias', 'vuln_id'])
      .where('alias', 'in', part)
      .execute())
      out.set(r.alias, [...(out.get(r.alias) ?? []), r.vuln_id]);
  return out;
}

/**
 * Works out the groups (`groupsOf`) of the changed records and of every record whose group may
 * depend on them: records sharing one of their ids, and the other members of groups a replaced
 * record left. Only differences are written; matches are kept per record, so nothing is matched
 * again.
 */
export async function regroup(
  trx: Executor,
  changedIds: string[],
  formerGroups: string[] = [],
): Promise<void> {
  if (changedIds.length === 0 && formerGroups.length === 0) return;
  const changed = await loadNamed(trx, changedIds);
  const affected = new Set(changedIds);
  for (const holders of (await holdersOf(trx, [...changed.values()].flatMap(namesOf))).values())
    for (const id of holders) affected.add(id);
  for (const part of chunks(formerGroups))
    for (const r of await trx
      .selectFrom('vulnerability_groups')
      .select('vuln_id')
      .where('canonical_id', 'in', part)
      .execute())
      affected.add(r.vuln_id);
  const records = await loadNamed(trx, affected);
  const holders = await holdersOf(trx, [...records.values()].flatMap(namesOf));
  const neighbourIds = new Set([...holders.values()].flat());
  const named = await loadNamed(
    trx,
    [...neighbourIds].filter((id) => !records.has(id)),
  );
  for (const [id, r] of records) named.set(id, r);

  const desired = new Map<string, string[]>();
  for (const r of records.values()) {
    const near = new Set(namesOf(r).flatMap((n) => holders.get(n) ?? []));
    near.delete(r.id);
    desired.set(
      r.id,
      groupsOf(
        r,
        [...near].map((id) => named.get(id)).filter((n) => n !== undefined),
      ),
    );
  }
  const stored = new Set<string>();
  for (const part of chunks([...records.keys()]))
    for (const g of await trx
      .selectFrom('vulnerability_groups')
      .select(['vuln_id', 'canonical_id'])
      .where('vuln_id', 'in', part)
      .execute())
      stored.add(`${g.vuln_id}\u0000${g.canonical_id}`);
  const wanted = new Set([...desired].flatMap(([id, groups]) => groups.map((g) => `${id}\u0000${g}`)));
  for (const row of stored) {
    if (wanted.has(row)) continue;
    const [vulnId = '', canonicalId = ''] = row.split('\u0000');
    await trx
      .deleteFrom('vulnerability_groups')
      .where('vuln_id', '=', vulnId)
      .where('canonical_id', '=', canonicalId)
      .execute();
  }
  const added = [...wanted]
    .filter((row) => !stored.has(row))
    .map((row) => {
      const [vuln_id = '', canonical_id = ''] = row.split('\u0000');
      return { vuln_id, canonical_id };
    });
  for (const part of chunks(added)) await trx.insertInto('vulnerability_groups').values(part).execute();
  // `vulnerabilities.canonical_id` keeps the first group, for readers that want one name.
  for (const [id, groups] of desired)
    if (groups[0] !== records.get(id)?.canonicalId)
      await trx
        .updateTable('vulnerabilities')
        .set({ canonical_id: groups[0] as string })
        .where('id', '=', id)
        .execute();
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

/**
 * The vulnerability a user names by any of its ids, and every record belonging to it. A name
 * that is a group's canonical id (a CVE) is that group. Another id (GHSA, GO, PYSEC, USN) is the
 * group its records belong to; when they belong to several (USN-5844-1 fixes eight CVEs) the
 * answer is a conflict that lists them, because a decision must be about one vulnerability.
 */
export async function resolveVulnerability(
  db: Kysely<Database> | Executor,
  name: string,
): Promise<{ canonicalId: string; recordIds: string[] } | null> {
  let canonical: string | undefined = (
    await db
      .selectFrom('vulnerability_groups')
      .select('canonical_id')
      .where('canonical_id', '=', name)
      .executeTakeFirst()
  )?.canonical_id;
  if (!canonical) {
    const rows = await db
      .selectFrom('vulnerability_ids as i')
      .innerJoin('vulnerability_groups as g', 'g.vuln_id', 'i.vuln_id')
      .select(['g.vuln_id', 'g.canonical_id'])
      .where('i.alias', '=', name)
      .execute();
    // The record with this id speaks for itself; a name only other records mention is what they
    // all agree on (GHSA-4374… is mentioned by GO-2023-2102 too, which also names another CVE).
    const own = rows.filter((r) => r.vuln_id === name).map((r) => r.canonical_id);
    const holders = new Map<string, Set<string>>();
    for (const r of rows) holders.set(r.vuln_id, (holders.get(r.vuln_id) ?? new Set()).add(r.canonical_id));
    const all = [...new Set(rows.map((r) => r.canonical_id))];
    const shared = all.filter((c) => [...holders.values()].every((set) => set.has(c)));
    const groups = (own.length > 0 ? own : shared.length > 0 ? shared : all).sort();
    if (groups.length > 1)
      throw conflict(
        `${name} names ${groups.length} vulnerabilities (${groups.join(', ')}); ask for one of them`,
      );
    canonical = groups[0];
  }
  if (!canonical) return null;
  const records = await db
    .selectFrom('vulnerability_groups')
    .select('vuln_id')
    .where('canonical_id', '=', canonical)
    .orderBy('vuln_id')
    .execute();
  return { canonicalId: canonical, recordIds: records.map((r) => r.vuln_id) };
}

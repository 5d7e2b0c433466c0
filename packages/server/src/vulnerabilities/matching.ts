import { type Expression, type SqlBool, sql } from 'kysely';
import type { Clock } from '../clock.js';
import type { Dialect } from '../store/db.js';
import type { VulnerabilityMatchesTable } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { chunks } from './chunks.js';
import { sameDistro } from './identifiers.js';
import { isAffected, type VersionInterval } from './ranges.js';
import type { VersionScheme } from './versions/index.js';

interface ComponentKeyRow {
  org_id: string;
  sbom_id: string;
  component_idx: number;
  key: string;
  version: string;
  distro: string | null;
}

interface AffectedRow {
  vuln_id: string;
  key: string;
  scheme: string;
  distro: string | null;
  intervals: string;
  versions: string;
  summary: string;
}

interface Entry {
  vulnId: string;
  scheme: VersionScheme;
  distro: string | null;
  intervals: VersionInterval[];
  versions: string[];
  summary: string;
}

export interface MatchResult {
  added: VulnerabilityMatchesTable[];
  removed: number;
  candidates: number;
}

/**
 * Matching by key lookup, then version comparison. Both directions are incremental: a new SBOM
 * is compared with the records that share its keys, a new record with the components that share
 * its keys; nothing else is read. A cache per (key, version, distro) makes a version that appears
 * in many SBOMs cost one comparison.
 */
export class Matcher {
  readonly #clock: Clock;
  readonly #dialect: Dialect;

  constructor(clock: Clock, dialect: Dialect = 'sqlite') {
    this.#clock = clock;
    this.#dialect = dialect;
  }

  /**
   * `column IN (…)` for long lists. PostgreSQL gets one array parameter (`= any($1)`), which it
   * plans as an index lookup however long the list; SQLite gets chunks of bound values.
   */
  #batches(values: string[]): string[][] {
    return this.#dialect === 'postgres' ? (values.length ? [values] : []) : chunks(values);
  }

  #in(column: string, values: string[]): Expression<SqlBool> {
    return this.#dialect === 'postgres'
      ? sql<SqlBool>`${sql.ref(column)} = any(${values})`
      : sql<SqlBool>`${sql.ref(column)} in (${sql.join(values)})`;
  }

  /** New or replaced SBOMs against every stored record. */
  async matchSboms(trx: Executor, sbomIds: string[]): Promise<MatchResult> {
    const components: ComponentKeyRow[] = [];
    for (const ids of this.#batches(sbomIds))
      components.push(
        ...(await trx
          .selectFrom('sbom_component_keys')
          .select(['org_id', 'sbom_id', 'component_idx', 'key', 'version', 'distro'])
          .where(this.#in('sbom_id', ids))
          .execute()),
      );
    const entries = await this.#entriesForKeys(trx, [...new Set(components.map((c) => c.key))]);
    const desired = this.#evaluate(components, entries);
    return this.#apply(trx, desired, { sbomIds });
  }

  /** New or changed records against every stored SBOM; their earlier matches are replaced. */
  async matchRecords(trx: Executor, vulnIds: string[]): Promise<MatchResult> {
    const entries = new Map<string, Entry[]>();
    const withdrawn = new Set<string>();
    for (const ids of this.#batches(vulnIds)) {
      const gone = await trx
        .selectFrom('vulnerabilities')
        .select('id')
        .where(this.#in('id', ids))
        .where('withdrawn', 'is not', null)
        .execute();
      for (const w of gone) withdrawn.add(w.id);
      const rows = await trx
        .selectFrom('vulnerability_affected')
        .select(['vuln_id', 'key', 'scheme', 'distro', 'intervals', 'versions', 'summary'])
        .where(this.#in('vuln_id', ids))
        .execute();
      addEntries(
        entries,
        rows.filter((r) => !withdrawn.has(r.vuln_id)),
      );
    }
    const components: ComponentKeyRow[] = [];
    for (const keys of this.#batches([...entries.keys()]))
      components.push(
        ...(await trx
          .selectFrom('sbom_component_keys')
          .select(['org_id', 'sbom_id', 'component_idx', 'key', 'version', 'distro'])
          .where(this.#in('key', keys))
          .execute()),
      );
    const desired = this.#evaluate(components, entries);
    return this.#apply(trx, desired, { vulnIds });
  }

  /** Everything against everything (after an upgrade of the matching rules, or on request). */
  async matchAll(trx: Executor): Promise<MatchResult> {
    const components = await trx
      .selectFrom('sbom_component_keys')
      .select(['org_id', 'sbom_id', 'component_idx', 'key', 'version', 'distro'])
      .execute();
    // Every record is a candidate here: one scan of the table beats thousands of IN lookups.
    const keys = new Set(components.map((c) => c.key));
    const rows = await liveAffected(trx).execute();
    const entries = new Map<string, Entry[]>();
    addEntries(
      entries,
      rows.filter((r) => keys.has(r.key)),
    );
    const desired = this.#evaluate(components, entries);
    return this.#apply(trx, desired, {});
  }

  async #entriesForKeys(trx: Executor, keys: string[]): Promise<Map<string, Entry[]>> {
    const entries = new Map<string, Entry[]>();
    for (const part of this.#batches(keys)) {
      const rows = await liveAffected(trx).where(this.#in('key', part)).execute();
      addEntries(entries, rows);
    }
    return entries;
  }

  #evaluate(
    components: ComponentKeyRow[],
    entries: Map<string, Entry[]>,
  ): Map<string, VulnerabilityMatchesTable> {
    const now = this.#clock.now().toISOString();
    const cache = new Map<string, Entry[]>();
    const desired = new Map<string, VulnerabilityMatchesTable>();
    for (const c of components) {
      const candidates = entries.get(c.key);
      if (!candidates) continue;
      const cacheKey = `${c.key}\u0000${c.version}\u0000${c.distro ?? ''}`;
      let hits = cache.get(cacheKey);
      if (!hits) {
        hits = candidates.filter((e) => sameDistro(e.distro, c.distro) && isAffected(e, c.version));
        cache.set(cacheKey, hits);
      }
      for (const e of hits) {
        const id = `${c.sbom_id}\u0000${c.component_idx}\u0000${e.vulnId}`;
        if (desired.has(id)) continue;
        desired.set(id, {
          org_id: c.org_id,
          sbom_id: c.sbom_id,
          component_idx: c.component_idx,
          vuln_id: e.vulnId,
          key: c.key,
          matched_by: c.key.startsWith('cpe:') ? 'cpe' : 'purl',
          affected_summary: e.summary,
          first_matched_at: now,
        });
      }
    }
    return desired;
  }

  /** Writes the difference between the desired matches and the stored ones within the scope. */
  async #apply(
    trx: Executor,
    desired: Map<string, VulnerabilityMatchesTable>,
    scope: { sbomIds?: string[]; vulnIds?: string[] },
  ): Promise<MatchResult> {
    const stored = new Set<string>();
    const collect = (rows: Array<{ sbom_id: string; component_idx: number; vuln_id: string }>): void => {
      for (const r of rows) stored.add(`${r.sbom_id}\u0000${r.component_idx}\u0000${r.vuln_id}`);
    };
    const base = trx.selectFrom('vulnerability_matches').select(['sbom_id', 'component_idx', 'vuln_id']);
    if (scope.sbomIds)
      for (const ids of this.#batches(scope.sbomIds))
        collect(await base.where(this.#in('sbom_id', ids)).execute());
    else if (scope.vulnIds)
      for (const ids of this.#batches(scope.vulnIds))
        collect(await base.where(this.#in('vuln_id', ids)).execute());
    else collect(await base.execute());

    const added = [...desired.entries()].filter(([id]) => !stored.has(id)).map(([, row]) => row);
    const gone = [...stored].filter((id) => !desired.has(id)).map((id) => id.split('\u0000'));
    if (this.#dialect === 'postgres') {
      // One statement per 10,000 rows: arrays unnested server-side instead of 80,000 parameters.
      for (const part of chunks(added, 10_000))
        await sql`insert into vulnerability_matches
            (org_id, sbom_id, component_idx, vuln_id, key, matched_by, affected_summary, first_matched_at)
          select * from unnest(
            ${part.map((m) => m.org_id)}::text[], ${part.map((m) => m.sbom_id)}::text[],
            ${part.map((m) => m.component_idx)}::integer[], ${part.map((m) => m.vuln_id)}::text[],
            ${part.map((m) => m.key)}::text[], ${part.map((m) => m.matched_by)}::text[],
            ${part.map((m) => m.affected_summary)}::text[], ${part.map((m) => m.first_matched_at)}::text[])`.execute(
          trx,
        );
    } else
      for (const part of chunks(added, 1000))
        await trx.insertInto('vulnerability_matches').values(part).execute();
    for (const [sbomId, idx, vulnId] of gone)
      await trx
        .deleteFrom('vulnerability_matches')
        .where('sbom_id', '=', sbomId as string)
        .where('component_idx', '=', Number(idx))
        .where('vuln_id', '=', vulnId as string)
        .execute();
    return { added, removed: gone.length, candidates: desired.size };
  }
}

/** Affected entries of records that are not withdrawn. */
function liveAffected(trx: Executor) {
  return trx
    .selectFrom('vulnerability_affected')
    .innerJoin('vulnerabilities', 'vulnerabilities.id', 'vulnerability_affected.vuln_id')
    .select(['vuln_id', 'key', 'scheme', 'distro', 'intervals', 'versions', 'vulnerability_affected.summary'])
    .where('vulnerabilities.withdrawn', 'is', null);
}

function addEntries(entries: Map<string, Entry[]>, rows: AffectedRow[]): void {
  for (const row of rows) {
    const list = entries.get(row.key) ?? [];
    list.push({
      vulnId: row.vuln_id,
      scheme: row.scheme as VersionScheme,
      distro: row.distro,
      intervals: JSON.parse(row.intervals) as VersionInterval[],
      versions: JSON.parse(row.versions) as string[],
      summary: row.summary,
    });
    entries.set(row.key, list);
  }
}

import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/service.js';
import type { Clock } from '../../clock.js';
import { notFound } from '../../errors.js';
import { newId } from '../../ids.js';
import type { Outbox } from '../../notifications/outbox.js';
import type { Database, SbomComponentKeysTable, SbomComponentsTable } from '../../store/schema.js';
import { inTransaction } from '../../store/transaction.js';
import type { ArtifactStore } from '../../updates/artifact-store.js';
import type { ReleaseService } from '../../updates/releases.js';
import { chunks } from '../chunks.js';
import { recordNewExposures } from '../exposure-events.js';
import { cpeComponentKeyOrNull } from '../feeds/record.js';
import { purlKeys } from '../identifiers.js';
import type { Matcher } from '../matching.js';
import type { ReportCaseService } from '../report-cases.js';
import { parseSbom, type SbomComponent } from './parse.js';

export interface Sbom {
  id: string;
  productId: string;
  releaseId: string;
  format: 'cyclonedx' | 'spdx';
  specVersion: string;
  serialNumber: string | null;
  documentSha256: string;
  componentCount: number;
  createdAt: string;
  createdBy: string;
}

export interface SbomImport extends Sbom {
  /** Components matched against the stored vulnerability records when the SBOM arrived. */
  matches: number;
  /** Components that carry neither a purl nor a CPE and so cannot be matched. */
  unidentified: number;
}

export interface StoredComponent extends SbomComponent {
  index: number;
}

/** One SBOM per firmware release: imported, validated, matched on arrival, exported as CycloneDX. */
export class SbomService {
  readonly #outbox: Outbox;
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #releases: ReleaseService;
  readonly #artifacts: ArtifactStore;
  readonly #matcher: Matcher;
  readonly #reportCases: ReportCaseService;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    releases: ReleaseService;
    artifacts: ArtifactStore;
    matcher: Matcher;
    reportCases: ReportCaseService;
    outbox: Outbox;
  }) {
    this.#outbox = deps.outbox;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#releases = deps.releases;
    this.#artifacts = deps.artifacts;
    this.#matcher = deps.matcher;
    this.#reportCases = deps.reportCases;
  }

  /**
   * Validates and stores the release's SBOM, replacing an earlier one. A bad document changes
   * nothing and is refused with every problem found (field `/…` paths from the validator).
   */
  async import(
    actor: string,
    orgId: string,
    releaseId: string,
    document: unknown,
    /** The document as it was sent: stored byte for byte, so its hash is the one the maker signs. */
    raw?: string,
  ): Promise<SbomImport> {
    const release = await this.#releases.get(orgId, releaseId);
    // A bad document throws SbomInvalid (validation-failed, every problem in `fields`) before
    // anything is written.
    const parsed = await parseSbom(document);
    const bytes = Buffer.from(raw ?? JSON.stringify(document), 'utf8');
    const stored = await this.#artifacts.put(orgId, Readable.from([bytes]), bytes.length);
    const now = this.#clock.now();
    const id = newId('sbm', now);
    const components: SbomComponentsTable[] = parsed.components.map((c, idx) => ({
      sbom_id: id,
      idx,
      org_id: orgId,
      bom_ref: c.bomRef?.slice(0, 1000) ?? null,
      type: c.type.slice(0, 50),
      name: c.name.slice(0, 1000),
      version: c.version?.slice(0, 200) ?? null,
      purl: c.purl?.slice(0, 2000) ?? null,
      cpe: c.cpe?.slice(0, 1000) ?? null,
      hashes: JSON.stringify(c.hashes.slice(0, 20)),
      supplier: c.supplier?.slice(0, 500) ?? null,
    }));
    const keys: SbomComponentKeysTable[] = [];
    let unidentified = 0;
    for (const c of components) {
      const found = [
        ...(c.purl ? purlKeys(c.purl, c.version) : []),
        ...[c.cpe ? cpeComponentKeyOrNull(c.cpe, c.version) : null].filter((k) => k !== null),
      ];
      if (found.length === 0) unidentified++;
      const seen = new Set<string>();
      for (const k of found) {
        if (seen.has(k.key)) continue;
        seen.add(k.key);
        keys.push({
          sbom_id: id,
          component_idx: c.idx,
          org_id: orgId,
          key: k.key,
          version: k.version,
          scheme: k.scheme,
          distro: k.distro,
        });
      }
    }
    const mediaType =
      parsed.format === 'cyclonedx' ? 'application/vnd.cyclonedx+json' : 'application/spdx+json';
    const matches = await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('artifacts')
        .values({
          org_id: orgId,
          sha256: stored.sha256,
          length: stored.length,
          media_type: mediaType,
          created_at: now.toISOString(),
          created_by: actor,
        })
        .onConflict((oc) => oc.columns(['org_id', 'sha256']).doNothing())
        .execute();
      // The release's earlier SBOM goes with its components, keys and matches (ON DELETE CASCADE).
      await trx.deleteFrom('sboms').where('release_id', '=', release.id).execute();
      await trx
        .insertInto('sboms')
        .values({
          id,
          org_id: orgId,
          product_id: release.productId,
          release_id: release.id,
          format: parsed.format,
          spec_version: parsed.specVersion,
          serial_number: parsed.serialNumber?.slice(0, 500) ?? null,
          document_sha256: stored.sha256,
          component_count: components.length,
          created_at: now.toISOString(),
          created_by: actor,
        })
        .execute();
      for (const part of chunks(components, 300))
        await trx.insertInto('sbom_components').values(part).execute();
      for (const part of chunks(keys, 500))
        await trx.insertInto('sbom_component_keys').values(part).execute();
      await trx
        .updateTable('releases')
        .set({ sbom_sha256: stored.sha256 })
        .where('id', '=', release.id)
        .execute();
      const result = await this.#matcher.matchSboms(trx, [id]);
      await this.#reportCases.openForKnownExploited(trx, result.added);
      await recordNewExposures(this.#outbox, trx, result.added);
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'sbom.import',
        targetType: 'release',
        targetId: release.id,
        details: {
          sbomId: id,
          format: parsed.format,
          specVersion: parsed.specVersion,
          components: components.length,
          sha256: stored.sha256,
          matches: result.added.length,
        },
      });
      return result.added.length;
    });
    return { ...(await this.get(orgId, release.id)), matches, unidentified };
  }

  /** The SBOM of a release (by release id) or by its own id. */
  async get(orgId: string, releaseOrSbomId: string): Promise<Sbom> {
    const row = await this.#db
      .selectFrom('sboms')
      .selectAll()
      .where('org_id', '=', orgId)
      .where((eb) => eb.or([eb('release_id', '=', releaseOrSbomId), eb('id', '=', releaseOrSbomId)]))
      .executeTakeFirst();
    if (!row) throw notFound('SBOM of release', releaseOrSbomId);
    return {
      id: row.id,
      productId: row.product_id,
      releaseId: row.release_id,
      format: row.format as Sbom['format'],
      specVersion: row.spec_version,
      serialNumber: row.serial_number,
      documentSha256: row.document_sha256,
      componentCount: Number(row.component_count),
      createdAt: row.created_at,
      createdBy: row.created_by,
    };
  }

  async components(orgId: string, sbomId: string): Promise<StoredComponent[]> {
    const rows = await this.#db
      .selectFrom('sbom_components')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('sbom_id', '=', sbomId)
      .orderBy('idx')
      .execute();
    return rows.map((r) => ({
      index: Number(r.idx),
      bomRef: r.bom_ref,
      type: r.type,
      name: r.name,
      version: r.version,
      purl: r.purl,
      cpe: r.cpe,
      hashes: JSON.parse(r.hashes) as SbomComponent['hashes'],
      supplier: r.supplier,
    }));
  }
}

import type { Kysely } from 'kysely';
import semver from 'semver';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { ProductService } from '../fleet/products.js';
import { newId } from '../ids.js';
import { isUniqueViolation } from '../store/db.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database, ReleasesTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

export const releaseKinds = ['security', 'feature'] as const;
export type ReleaseKind = (typeof releaseKinds)[number];
export const releaseStatuses = ['draft', 'published'] as const;

export interface Release {
  id: string;
  productId: string;
  version: string;
  /** `security`: a fix delivered on its own and free of charge (CRA Annex I(2)(8)). */
  kind: ReleaseKind;
  /** Anti-rollback floor: a device refuses any release below the security version it runs. */
  securityVersion: number;
  /** Hardware revisions the image runs on; the device checks its own against this list. */
  hardware: string[];
  notes: string;
  filename: string;
  /** The TUF target path: `<productId>/<version>/<filename>`. */
  targetPath: string;
  sha256: string;
  length: number;
  sbomSha256: string | null;
  /** `draft` until targets metadata naming it is signed by the targets keys' threshold. */
  status: (typeof releaseStatuses)[number];
  createdAt: string;
  createdBy: string;
  publishedAt: string | null;
}

export interface CreateRelease {
  productId: string;
  version: string;
  kind: ReleaseKind;
  securityVersion: number;
  hardware?: string[];
  notes?: string;
  filename: string;
  sha256: string;
  sbomSha256?: string;
}

function toRelease(row: ReleasesTable): Release {
  return {
    id: row.id,
    productId: row.product_id,
    version: row.version,
    kind: row.kind as ReleaseKind,
    securityVersion: row.security_version,
    hardware: JSON.parse(row.hardware) as string[],
    notes: row.notes,
    filename: row.filename,
    targetPath: row.target_path,
    sha256: row.artifact_sha256,
    length: Number(row.artifact_length),
    sbomSha256: row.sbom_sha256,
    status: row.status as Release['status'],
    createdAt: row.created_at,
    createdBy: row.created_by,
    publishedAt: row.published_at,
  };
}

const FILENAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Firmware releases: an uploaded artifact with what a device and an auditor need to know about it. */
export class ReleaseService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #products: ProductService;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; products: ProductService }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#products = deps.products;
  }

  async create(actor: string, orgId: string, input: CreateRelease): Promise<Release> {
    const product = await this.#products.get(orgId, input.productId);
    // The version is the target path's middle part, so it must also be a clean path segment.
    if (!semver.valid(input.version) || input.version.includes('/'))
      throw invalid('version', 'must be a semantic version such as 1.4.2 (semver.org)');
    if (!FILENAME.test(input.filename))
      throw invalid('filename', 'letters, digits, dot, dash and underscore only, at most 128');
    await this.#checkSecurityVersion(orgId, product.id, input.version, input.securityVersion);
    const hardware = input.hardware?.length ? [...new Set(input.hardware)] : [product.hardwareRevision];
    const artifact = await this.#artifact(orgId, input.sha256, 'sha256');
    if (input.sbomSha256) await this.#artifact(orgId, input.sbomSha256, 'sbomSha256');
    const now = this.#clock.now();
    const id = newId('rel', now);
    const row: ReleasesTable = {
      id,
      org_id: orgId,
      product_id: product.id,
      version: input.version,
      kind: input.kind,
      security_version: input.securityVersion,
      hardware: JSON.stringify(hardware),
      notes: input.notes ?? '',
      filename: input.filename,
      target_path: `${product.id}/${input.version}/${input.filename}`,
      artifact_sha256: input.sha256,
      artifact_length: artifact.length,
      sbom_sha256: input.sbomSha256 ?? null,
      status: 'draft',
      created_at: now.toISOString(),
      created_by: actor,
      published_at: null,
    };
    try {
      await inTransaction(this.#db, async (trx) => {
        await trx.insertInto('releases').values(row).execute();
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'release.create',
          targetType: 'release',
          targetId: id,
          details: {
            productId: product.id,
            version: input.version,
            kind: input.kind,
            securityVersion: input.securityVersion,
            sha256: input.sha256,
            length: artifact.length,
          },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(`product ${product.id} already has a release ${input.version}`);
      throw error;
    }
    return toRelease(row);
  }

  /**
   * Security versions are monotonic in the version order of a product's releases: a later version
   * never has a lower one, an earlier version never a higher one. Otherwise anti-rollback would
   * block a newer release or let an older, vulnerable one back in.
   */
  async #checkSecurityVersion(orgId: string, productId: string, version: string, securityVersion: number) {
    const others = await this.#db
      .selectFrom('releases')
      .select(['version', 'security_version'])
      .where('org_id', '=', orgId)
      .where('product_id', '=', productId)
      .execute();
    for (const other of others) {
      const order = semver.compare(other.version, version);
      if (order < 0 && other.security_version > securityVersion)
        throw invalid(
          'securityVersion',
          `must be at least ${other.security_version}: the earlier release ${other.version} already has it`,
        );
      if (order > 0 && other.security_version < securityVersion)
        throw invalid(
          'securityVersion',
          `must be at most ${other.security_version}: the later release ${other.version} has it`,
        );
    }
  }

  async #artifact(orgId: string, sha256: string, field: string): Promise<{ length: number }> {
    const row = await this.#db
      .selectFrom('artifacts')
      .select('length')
      .where('org_id', '=', orgId)
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    if (!row) throw invalid(field, `no uploaded artifact ${sha256} (upload it first: POST …/artifacts)`);
    return { length: Number(row.length) };
  }

  async get(orgId: string, id: string): Promise<Release> {
    const row = await this.#db
      .selectFrom('releases')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('release', id);
    return toRelease(row);
  }

  async list(
    orgId: string,
    page: PageRequest,
    filter: { productId?: string; kind?: ReleaseKind } = {},
  ): Promise<Page<Release>> {
    let query = this.#db.selectFrom('releases').selectAll().where('org_id', '=', orgId);
    if (filter.productId) query = query.where('product_id', '=', filter.productId);
    if (filter.kind) query = query.where('kind', '=', filter.kind);
    const after = decodeCursor(page.cursor);
    if (after) query = query.where('id', '<', after);
    const rows = await query
      .orderBy('id', 'desc')
      .limit(page.limit + 1)
      .execute();
    return toPage(rows, page.limit, toRelease);
  }
}

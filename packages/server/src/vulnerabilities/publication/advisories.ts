import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/service.js';
import type { Clock } from '../../clock.js';
import { conflict, DomainError, invalid, notFound } from '../../errors.js';
import { newId } from '../../ids.js';
import type { AdvisoriesTable, Database } from '../../store/schema.js';
import { inTransaction } from '../../store/transaction.js';
import type { ExposureService } from '../exposure.js';
import { buildCsaf, csafFilename, validateCsaf } from './csaf.js';
import { collectStatements } from './statements.js';

export interface Advisory {
  id: string;
  trackingId: string;
  title: string;
  vulnerabilities: string[];
  productIds: string[];
  status: 'draft' | 'published';
  version: number;
  filename: string;
  initialReleaseDate: string | null;
  currentReleaseDate: string | null;
  document: Record<string, unknown>;
  createdAt: string;
  createdBy: string;
}

/**
 * CSAF 2.0 security advisories written from triage and fix data. A draft is regenerated on every
 * read until it is published; publishing validates the document with BSI's validator (schema and
 * all mandatory tests) and refuses an invalid one, so nothing invalid is ever served.
 */
export class AdvisoryService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #exposure: ExposureService;
  readonly #publicUrl: string | null;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    exposure: ExposureService;
    publicUrl: string | null;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#exposure = deps.exposure;
    this.#publicUrl = deps.publicUrl;
  }

  /**
   * Where documents say they live (CSAF `publisher.namespace` and `self` reference, OpenVEX `@id`,
   * provider metadata): the configured `http.publicUrl`, never the request's Host header, which
   * the client chooses. Without one it is `http://localhost`, which publishing refuses.
   */
  baseUrl(): string {
    return (this.#publicUrl ?? UNCONFIGURED_URL).replace(/\/+$/, '');
  }

  /**
   * Others fetch a published advisory at its URL (CSAF 2.0 section 7.1: requirement 3 asks for
   * TLS, 5 for a URL on the provider's own domain): a loopback or unset address reaches nobody.
   */
  #assertPublishableUrl(): void {
    const refuse = (message: string): never => {
      throw new DomainError('validation-failed', `http.publicUrl: ${message}`, [
        { field: '/http/publicUrl', message },
      ]);
    };
    if (!this.#publicUrl)
      refuse('not set; set it (BRICKLESS_PUBLIC_URL) to the https address others reach this server at');
    const url = new URL(this.#publicUrl as string);
    if (url.protocol !== 'https:') refuse(`${url.origin} is not https (CSAF 2.0 requirement 3)`);
    if (isLocalHost(url.hostname))
      refuse(`${url.hostname} is this machine; others cannot fetch documents there`);
  }

  async create(
    actor: string,
    orgId: string,
    input: { vulnerabilities: string[]; productIds?: string[]; title?: string; trackingId?: string },
  ): Promise<Advisory> {
    if (input.vulnerabilities.length === 0) throw invalid('vulnerabilities', 'name at least one');
    const canonical: string[] = [];
    for (const name of input.vulnerabilities) canonical.push((await this.#exposure.summary(name)).id);
    const org = await this.#db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '=', orgId)
      .executeTakeFirstOrThrow();
    const now = this.#clock.now();
    let trackingId = input.trackingId;
    if (!trackingId) {
      const year = now.getUTCFullYear();
      const count = await this.#db
        .selectFrom('advisories')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .where('tracking_id', 'like', `${org.slug.toUpperCase()}-${year}-%`)
        .executeTakeFirstOrThrow();
      trackingId = `${org.slug.toUpperCase()}-${year}-${String(Number(count.n) + 1).padStart(4, '0')}`;
    }
    if (!/^[\S](.*[\S])?$/.test(trackingId) || trackingId.length > 100)
      throw invalid('trackingId', 'no leading or trailing space, at most 100 characters');
    const exists = await this.#db
      .selectFrom('advisories')
      .select('id')
      .where('org_id', '=', orgId)
      .where('tracking_id', '=', trackingId)
      .executeTakeFirst();
    if (exists) throw conflict(`an advisory ${trackingId} exists`);
    const id = newId('adv', now);
    const title =
      input.title ?? `Vulnerabilities in ${org.name} firmware: ${canonical.join(', ')}`.slice(0, 300);
    const row: AdvisoriesTable = {
      id,
      org_id: orgId,
      tracking_id: trackingId,
      title,
      vuln_ids: JSON.stringify(canonical),
      product_ids: JSON.stringify(input.productIds ?? []),
      category: 'csaf_security_advisory',
      status: 'draft',
      version: 0,
      document: '{}',
      initial_release_date: null,
      current_release_date: null,
      created_at: now.toISOString(),
      created_by: actor,
      updated_at: now.toISOString(),
    };
    await inTransaction(this.#db, async (trx) => {
      await trx.insertInto('advisories').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'advisory.create',
        targetType: 'advisory',
        targetId: id,
        details: { trackingId, vulnerabilities: canonical },
      });
    });
    return this.get(orgId, id);
  }

  async #render(
    row: AdvisoriesTable,
    status: 'draft' | 'final',
    revisions: Array<{ date: string; summary: string }>,
  ): Promise<Record<string, unknown>> {
    const org = await this.#db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '=', row.org_id)
      .executeTakeFirstOrThrow();
    const productIds = JSON.parse(row.product_ids) as string[];
    const statements = await collectStatements(this.#db, this.#exposure, row.org_id, {
      vulnerabilities: JSON.parse(row.vuln_ids) as string[],
      ...(productIds.length ? { productIds } : {}),
    });
    if (statements.length === 0)
      throw new DomainError(
        'validation-failed',
        'none of the named vulnerabilities matches a release of this organisation',
      );
    const base = this.baseUrl();
    const year = (revisions[0]?.date ?? this.#clock.now().toISOString()).slice(0, 4);
    return buildCsaf({
      category: 'csaf_security_advisory',
      publisher: { name: org.name, namespace: base, contact: org.security_contact },
      orgSlug: org.slug,
      trackingId: row.tracking_id,
      title: row.title,
      status,
      revisions,
      initialReleaseDate: row.initial_release_date ?? revisions[0]?.date ?? this.#clock.now().toISOString(),
      statements,
      selfUrl: `${base}/public/orgs/${org.slug}/csaf/white/${year}/${csafFilename(row.tracking_id)}`,
    });
  }

  async get(orgId: string, id: string): Promise<Advisory> {
    const row = await this.#db
      .selectFrom('advisories')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('advisory', id);
    let document = JSON.parse(row.document) as Record<string, unknown>;
    if (row.status === 'draft') {
      const now = this.#clock.now().toISOString();
      document = await this.#render(row, 'draft', [
        ...this.#revisions(row),
        { date: now, summary: 'Draft' },
      ]).catch((error) => {
        if (error instanceof DomainError) return { error: error.message };
        throw error;
      });
    }
    return this.#toAdvisory(row, document);
  }

  #revisions(row: AdvisoriesTable): Array<{ date: string; summary: string }> {
    const doc = JSON.parse(row.document) as {
      document?: { tracking?: { revision_history?: Array<{ date: string; summary: string }> } };
    };
    return (doc.document?.tracking?.revision_history ?? []).map((r) => ({
      date: r.date,
      summary: r.summary,
    }));
  }

  #toAdvisory(row: AdvisoriesTable, document: Record<string, unknown>): Advisory {
    return {
      id: row.id,
      trackingId: row.tracking_id,
      title: row.title,
      vulnerabilities: JSON.parse(row.vuln_ids) as string[],
      productIds: JSON.parse(row.product_ids) as string[],
      status: row.status as Advisory['status'],
      version: Number(row.version),
      filename: csafFilename(row.tracking_id),
      initialReleaseDate: row.initial_release_date,
      currentReleaseDate: row.current_release_date,
      document,
      createdAt: row.created_at,
      createdBy: row.created_by,
    };
  }

  /** Publishes (or republishes with a new revision) after the document passes validation. */
  async publish(actor: string, orgId: string, id: string, input: { summary?: string }): Promise<Advisory> {
    const row = await this.#db
      .selectFrom('advisories')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('advisory', id);
    this.#assertPublishableUrl();
    const now = this.#clock.now().toISOString();
    const revisions = [
      ...this.#revisions(row),
      { date: now, summary: input.summary ?? (row.version === 0 ? 'Initial release' : 'Updated status') },
    ];
    const document = await this.#render(
      { ...row, initial_release_date: row.initial_release_date ?? now },
      'final',
      revisions,
    );
    const result = await validateCsaf(document);
    if (!result.isValid)
      throw new DomainError(
        'validation-failed',
        `the generated CSAF document does not pass validation: ${result.errors.slice(0, 3).join('; ')}`,
        result.errors.slice(0, 50).map((message) => ({ field: '/document', message })),
      );
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('advisories')
        .set({
          status: 'published',
          version: revisions.length,
          document: JSON.stringify(document),
          initial_release_date: row.initial_release_date ?? now,
          current_release_date: now,
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'advisory.publish',
        targetType: 'advisory',
        targetId: id,
        details: { trackingId: row.tracking_id, version: revisions.length },
      });
    });
    return this.get(orgId, id);
  }

  async list(
    orgId: string,
    filter: { status?: 'draft' | 'published' } = {},
  ): Promise<Array<Omit<Advisory, 'document'>>> {
    let q = this.#db.selectFrom('advisories').selectAll().where('org_id', '=', orgId);
    if (filter.status) q = q.where('status', '=', filter.status);
    const rows = await q.orderBy('id', 'desc').limit(1000).execute();
    return rows.map((r) => {
      const { document: _, ...rest } = this.#toAdvisory(r, {});
      return rest;
    });
  }

  /** Published documents, as served to the public (CSAF provider directory). */
  async published(orgId: string): Promise<
    Array<{
      trackingId: string;
      filename: string;
      year: string;
      currentReleaseDate: string;
      initialReleaseDate: string;
      document: string;
      title: string;
      vulnerabilities: string[];
      productIds: string[];
    }>
  > {
    const rows = await this.#db
      .selectFrom('advisories')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('status', '=', 'published')
      .orderBy('current_release_date', 'desc')
      .execute();
    return rows.map((r) => ({
      trackingId: r.tracking_id,
      filename: csafFilename(r.tracking_id),
      year: (r.initial_release_date ?? r.created_at).slice(0, 4),
      currentReleaseDate: r.current_release_date ?? r.updated_at,
      initialReleaseDate: r.initial_release_date ?? r.created_at,
      document: r.document,
      title: r.title,
      vulnerabilities: JSON.parse(r.vuln_ids) as string[],
      productIds: JSON.parse(r.product_ids) as string[],
    }));
  }
}

const UNCONFIGURED_URL = 'http://localhost';

/** `localhost`, `*.localhost` (RFC 6761 6.3), IPv4 loopback, IPv6 loopback and the unspecified addresses. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '0.0.0.0' ||
    host === '::1' ||
    host === '::' ||
    host === '0:0:0:0:0:0:0:1'
  );
}

import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { invalid } from '../errors.js';
import type { ProductService } from '../fleet/products.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { ReleaseService } from '../updates/releases.js';
import type { ExposureService } from './exposure.js';
import type { ReportCaseService } from './report-cases.js';
import {
  type Decision,
  type TriageStatus,
  triageStatuses,
  type VexJustification,
  vexJustifications,
} from './triage-status.js';

export interface DecisionInput {
  productId: string;
  releaseId?: string;
  status: TriageStatus;
  justification?: VexJustification;
  impactStatement?: string;
  actionStatement?: string;
  fixedReleaseId?: string;
}

/** VEX triage decisions: appended, never edited, each one in the audit log. */
export class TriageService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #products: ProductService;
  readonly #releases: ReleaseService;
  readonly #exposure: ExposureService;
  readonly #reportCases: ReportCaseService;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    products: ProductService;
    releases: ReleaseService;
    exposure: ExposureService;
    reportCases: ReportCaseService;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#products = deps.products;
    this.#releases = deps.releases;
    this.#exposure = deps.exposure;
    this.#reportCases = deps.reportCases;
  }

  async decide(actor: string, orgId: string, vulnerability: string, input: DecisionInput): Promise<Decision> {
    const summary = await this.#exposure.summary(vulnerability);
    const product = await this.#products.get(orgId, input.productId);
    if (!triageStatuses.includes(input.status))
      throw invalid('status', `one of ${triageStatuses.join(', ')}`);
    if (input.releaseId) {
      const release = await this.#releases.get(orgId, input.releaseId);
      if (release.productId !== product.id)
        throw invalid('releaseId', 'the release belongs to another product');
    }
    // OpenVEX v0.2.0: not_affected needs a justification; CISA's minimum elements say the same.
    if (input.status === 'not_affected' && !input.justification)
      throw invalid('justification', `not_affected needs one of ${vexJustifications.join(', ')}`);
    if (input.justification && !vexJustifications.includes(input.justification))
      throw invalid('justification', `one of ${vexJustifications.join(', ')}`);
    let fixedRelease: Awaited<ReturnType<ReleaseService['get']>> | null = null;
    if (input.status === 'fixed') {
      if (!input.fixedReleaseId && !input.releaseId)
        throw invalid(
          'fixedReleaseId',
          'say which release fixes it (or decide for one release with releaseId)',
        );
      if (input.fixedReleaseId) {
        fixedRelease = await this.#releases.get(orgId, input.fixedReleaseId);
        if (fixedRelease.productId !== product.id)
          throw invalid('fixedReleaseId', 'the release belongs to another product');
      }
    } else if (input.fixedReleaseId) throw invalid('fixedReleaseId', 'only with status fixed');
    const now = this.#clock.now();
    const id = newId('vex', now);
    const actionStatement =
      input.actionStatement ??
      (input.status === 'affected'
        ? 'A fixed firmware release is being prepared; keep automatic updates on.'
        : null);
    await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('vex_decisions')
        .values({
          id,
          org_id: orgId,
          vuln_id: summary.id,
          product_id: product.id,
          release_id: input.releaseId ?? null,
          status: input.status,
          justification: input.justification ?? null,
          impact_statement: input.impactStatement?.slice(0, 5000) ?? null,
          action_statement: actionStatement?.slice(0, 5000) ?? null,
          fixed_release_id: input.fixedReleaseId ?? null,
          created_at: now.toISOString(),
          created_by: actor,
        })
        .execute();
      if (input.status === 'fixed')
        await this.#reportCases.correctiveAvailable(
          trx,
          orgId,
          summary.id,
          product.id,
          fixedRelease?.id ?? input.releaseId ?? null,
          fixedRelease?.publishedAt ?? now.toISOString(),
        );
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'vex.decide',
        targetType: 'vulnerability',
        targetId: summary.id,
        details: {
          decisionId: id,
          productId: product.id,
          releaseId: input.releaseId ?? null,
          status: input.status,
          justification: input.justification ?? null,
          fixedReleaseId: input.fixedReleaseId ?? null,
        },
      });
    });
    const decisions = await this.#exposure.decisions(orgId, summary.id);
    return decisions.find((d) => d.id === id) as Decision;
  }

  history(orgId: string, canonicalId: string): Promise<Decision[]> {
    return this.#exposure.decisions(orgId, canonicalId);
  }
}

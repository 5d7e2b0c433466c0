import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid } from '../errors.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { ReleaseService } from '../updates/releases.js';
import type { RolloutEngine } from '../updates/rollout-engine.js';
import type { Rollout, RolloutService } from '../updates/rollouts.js';
import type { ExposureService } from './exposure.js';
import type { ReportCaseService } from './report-cases.js';
import { effectiveStatus, exposedStatuses } from './triage-status.js';

export interface RemediationInput {
  /** The release that fixes it; defaults to the one a `fixed` triage decision names. */
  releaseId?: string;
  productId?: string;
  waves?: number[];
  name?: string;
}

/**
 * One action from a vulnerability to the patch: a security rollout of the fixing release to
 * exactly the devices running an exposed release of that product. The rollout selects them by
 * firmware version, so a device that turns up later on an exposed release is enrolled too.
 */
export class RemediationService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #exposure: ExposureService;
  readonly #releases: ReleaseService;
  readonly #rollouts: RolloutService;
  readonly #reportCases: ReportCaseService;
  readonly #engine: RolloutEngine;

  constructor(deps: {
    rolloutEngine: RolloutEngine;
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    exposure: ExposureService;
    releases: ReleaseService;
    rollouts: RolloutService;
    reportCases: ReportCaseService;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#exposure = deps.exposure;
    this.#releases = deps.releases;
    this.#rollouts = deps.rollouts;
    this.#reportCases = deps.reportCases;
    this.#engine = deps.rolloutEngine;
  }

  async remediate(
    actor: string,
    orgId: string,
    vulnerability: string,
    input: RemediationInput,
  ): Promise<{ rollout: Rollout; devices: number; exposedVersions: string[] }> {
    const exposure = await this.#exposure.exposure(orgId, vulnerability);
    const decisions = await this.#exposure.decisions(orgId, exposure.vulnerability.id);
    let releaseId = input.releaseId;
    let productId = input.productId;
    if (releaseId) productId = (await this.#releases.get(orgId, releaseId)).productId;
    const exposedProducts = exposure.products.filter((p) => p.releases.some((r) => r.exposed));
    if (!productId) {
      if (exposedProducts.length !== 1)
        throw invalid(
          'productId',
          exposedProducts.length === 0
            ? 'no device is exposed'
            : `${exposedProducts.length} products are exposed; name one`,
        );
      productId = exposedProducts[0]?.productId;
    }
    const product = exposure.products.find((p) => p.productId === productId);
    const exposedReleases = product?.releases.filter((r) => r.exposed) ?? [];
    if (exposedReleases.length === 0)
      throw conflict(`no release of product ${productId} is exposed to ${exposure.vulnerability.id}`);
    if (!releaseId) {
      const fixed = decisions
        .filter(
          (d) =>
            d.productId === productId && d.releaseId === null && d.status === 'fixed' && d.fixedReleaseId,
        )
        .at(-1);
      if (!fixed?.fixedReleaseId)
        throw invalid('releaseId', 'no triage decision names the fixing release; give releaseId');
      releaseId = fixed.fixedReleaseId;
    }
    const release = await this.#releases.get(orgId, releaseId);
    // The fix must not itself be exposed: its SBOM may not match, or triage must have cleared it.
    const ownMatch = await this.#db
      .selectFrom('vulnerability_matches as m')
      .innerJoin('sboms as s', 's.id', 'm.sbom_id')
      .select('m.vuln_id')
      .where('s.release_id', '=', release.id)
      .where(
        'm.vuln_id',
        'in',
        exposure.vulnerability.records.map((r) => r.id),
      )
      .executeTakeFirst();
    if (
      ownMatch &&
      exposedStatuses.has(
        effectiveStatus({ id: release.id, productId: release.productId, version: release.version }, decisions)
          .status,
      )
    )
      throw conflict(
        `release ${release.version} still contains the vulnerable component; triage it as fixed or not_affected first`,
      );
    const rollout = await this.#rollouts.create(actor, orgId, {
      releaseId: release.id,
      name: input.name ?? `${exposure.vulnerability.id}: ${release.version}`,
      selector: { firmwareVersions: exposedReleases.map((r) => r.version) },
      ...(input.waves ? { waves: input.waves } : {}),
    });
    // Enrol now (no offers): the serving process's engine tick makes the offers.
    await this.#engine.enrol(rollout.id);
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await this.#reportCases.correctiveAvailable(
        trx,
        orgId,
        exposure.vulnerability.id,
        release.productId,
        release.id,
        release.publishedAt ?? now,
      );
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'vulnerability.remediate',
        targetType: 'vulnerability',
        targetId: exposure.vulnerability.id,
        details: {
          rolloutId: rollout.id,
          releaseId: release.id,
          exposedVersions: exposedReleases.map((r) => r.version),
        },
      });
    });
    await this.#exposure.refreshCoverage(orgId, exposure.vulnerability.id);
    return {
      rollout,
      devices: exposedReleases.reduce((n, r) => n + r.devices, 0),
      exposedVersions: exposedReleases.map((r) => r.version),
    };
  }
}

import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database, ReportCasesTable, VulnerabilityMatchesTable } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { chunks } from './chunks.js';
import type { ExposureService } from './exposure.js';
import {
  type CaseKind,
  type ReportStage,
  reportStages,
  type StageClock,
  stageClocks,
} from './report-clock.js';

export interface ReportCase {
  id: string;
  kind: CaseKind;
  vulnerabilityId: string | null;
  productId: string;
  title: string;
  source: 'kev' | 'manual' | 'incident';
  awareAt: string;
  correctiveAvailableAt: string | null;
  fixedReleaseId: string | null;
  details: CaseDetails;
  status: 'open' | 'closed';
  clocks: StageClock[];
  /** The earliest open deadline, for sorting and alerts. */
  nextDueAt: string | null;
  submissions: Array<{
    id: string;
    stage: ReportStage;
    submittedAt: string;
    submittedBy: string;
    reference: string | null;
  }>;
  createdAt: string;
  createdBy: string;
}

export interface CaseDetails {
  /** Member States where the product is made available, where known (Art. 14(2)(a)). */
  memberStates?: string[];
  natureOfExploitation?: string;
  mitigations?: string;
  suspectedMalicious?: boolean;
  description?: string;
}

/**
 * CRA Art. 14 report cases. A case opens when a vulnerability in a product is known to be actively
 * exploited: automatically when KEV lists a CVE that matches a release's SBOM (either order of
 * arrival), or when a person marks it; or for a severe incident. The time of awareness starts the
 * clocks (report-clock.ts); every submission is recorded with who and when.
 */
export class ReportCaseService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  #exposure: ExposureService | null = null;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  bindExposure(exposure: ExposureService): void {
    this.#exposure = exposure;
  }

  /** After new matches: open a case for each (organisation, product, vulnerability) KEV lists. */
  async openForKnownExploited(trx: Executor, added: VulnerabilityMatchesTable[]): Promise<number> {
    if (added.length === 0) return 0;
    const vulnIds = [...new Set(added.map((m) => m.vuln_id))];
    const exploited = await this.#exploitedCanonical(trx, vulnIds);
    if (exploited.size === 0) return 0;
    const sbomIds = [...new Set(added.filter((m) => exploited.has(m.vuln_id)).map((m) => m.sbom_id))];
    const sboms = new Map<string, { org_id: string; product_id: string }>();
    for (const ids of chunks(sbomIds))
      for (const s of await trx
        .selectFrom('sboms')
        .select(['id', 'org_id', 'product_id'])
        .where('id', 'in', ids)
        .execute())
        sboms.set(s.id, s);
    let opened = 0;
    const seen = new Set<string>();
    for (const m of added) {
      const sbom = sboms.get(m.sbom_id);
      if (!sbom) continue;
      for (const canonical of exploited.get(m.vuln_id) ?? []) {
        const key = `${sbom.org_id}\u0000${sbom.product_id}\u0000${canonical.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (
          await this.#openCase(
            trx,
            sbom.org_id,
            sbom.product_id,
            canonical.id,
            'kev',
            `Actively exploited: ${canonical.id}${canonical.name ? ` (${canonical.name})` : ''}`,
            'system:kev',
          )
        )
          opened++;
      }
    }
    return opened;
  }

  /** After a KEV import: CVEs newly listed that already match stored SBOMs. */
  async openForNewlyExploited(trx: Executor, cveIds: string[]): Promise<number> {
    if (cveIds.length === 0) return 0;
    const records: string[] = [];
    for (const ids of chunks(cveIds)) {
      const rows = await trx
        .selectFrom('vulnerability_groups')
        .select('vuln_id as id')
        .where('canonical_id', 'in', ids)
        .execute();
      records.push(...rows.map((r) => r.id));
    }
    const matches: VulnerabilityMatchesTable[] = [];
    for (const ids of chunks([...new Set(records)]))
      matches.push(
        ...(await trx.selectFrom('vulnerability_matches').selectAll().where('vuln_id', 'in', ids).execute()),
      );
    return this.openForKnownExploited(trx, matches);
  }

  /** Per record, the known exploited vulnerabilities it belongs to (a USN may cover several). */
  async #exploitedCanonical(
    trx: Executor,
    vulnIds: string[],
  ): Promise<Map<string, Array<{ id: string; name: string }>>> {
    const out = new Map<string, Array<{ id: string; name: string }>>();
    for (const ids of chunks(vulnIds)) {
      const rows = await trx
        .selectFrom('vulnerability_groups as g')
        .innerJoin('known_exploited as k', 'k.cve_id', 'g.canonical_id')
        .select(['g.vuln_id', 'g.canonical_id', 'k.name'])
        .where('g.vuln_id', 'in', ids)
        .execute();
      for (const r of rows)
        out.set(r.vuln_id, [...(out.get(r.vuln_id) ?? []), { id: r.canonical_id, name: r.name }]);
    }
    return out;
  }

  async #openCase(
    trx: Executor,
    orgId: string,
    productId: string,
    vulnId: string | null,
    source: ReportCase['source'],
    title: string,
    actor: string,
    extra: { kind?: CaseKind; awareAt?: string; details?: CaseDetails } = {},
  ): Promise<string | null> {
    if (vulnId) {
      const open = await trx
        .selectFrom('report_cases')
        .select('id')
        .where('org_id', '=', orgId)
        .where('product_id', '=', productId)
        .where('vuln_id', '=', vulnId)
        .where('status', '=', 'open')
        .executeTakeFirst();
      if (open) return null;
    }
    const now = this.#clock.now();
    const id = newId('rpc', now);
    const row: ReportCasesTable = {
      id,
      org_id: orgId,
      kind: extra.kind ?? 'vulnerability',
      vuln_id: vulnId,
      product_id: productId,
      title: title.slice(0, 500),
      source,
      aware_at: extra.awareAt ?? now.toISOString(),
      corrective_available_at: null,
      fixed_release_id: null,
      details: JSON.stringify(extra.details ?? {}),
      status: 'open',
      created_at: now.toISOString(),
      created_by: actor,
      updated_at: now.toISOString(),
    };
    await trx.insertInto('report_cases').values(row).execute();
    await this.#audit.append(trx, orgId, {
      actor,
      action: 'report-case.open',
      targetType: 'report-case',
      targetId: id,
      details: { kind: row.kind, vulnerabilityId: vulnId, productId, source, awareAt: row.aware_at },
    });
    return id;
  }

  /** A person learned that a vulnerability is actively exploited (Art. 14(1)). */
  async markExploited(
    actor: string,
    orgId: string,
    vulnerabilityId: string,
    productIds: string[],
    input: { awareAt?: string; details?: CaseDetails },
  ): Promise<ReportCase[]> {
    if (productIds.length === 0)
      throw invalid('productId', 'no product of this organisation is affected; name one');
    const ids = await inTransaction(this.#db, async (trx) => {
      const out: string[] = [];
      for (const productId of productIds) {
        const id = await this.#openCase(
          trx,
          orgId,
          productId,
          vulnerabilityId,
          'manual',
          `Actively exploited: ${vulnerabilityId}`,
          actor,
          {
            ...(input.awareAt ? { awareAt: input.awareAt } : {}),
            ...(input.details ? { details: input.details } : {}),
          },
        );
        if (id) out.push(id);
      }
      return out;
    });
    return Promise.all(ids.map((id) => this.get(orgId, id)));
  }

  /** A severe incident having an impact on the security of the product (Art. 14(3)). */
  async openIncident(
    actor: string,
    orgId: string,
    input: { productId: string; title: string; awareAt?: string; details?: CaseDetails },
  ): Promise<ReportCase> {
    const product = await this.#db
      .selectFrom('products')
      .select('id')
      .where('org_id', '=', orgId)
      .where('id', '=', input.productId)
      .executeTakeFirst();
    if (!product) throw notFound('product', input.productId);
    const id = await inTransaction(this.#db, (trx) =>
      this.#openCase(trx, orgId, input.productId, null, 'incident', input.title, actor, {
        kind: 'severe-incident',
        ...(input.awareAt ? { awareAt: input.awareAt } : {}),
        details: input.details ?? {},
      }),
    );
    return this.get(orgId, id as string);
  }

  /** A corrective or mitigating measure is available: the 14-day clock of the final report starts. */
  async correctiveAvailable(
    trx: Executor,
    orgId: string,
    vulnId: string,
    productId: string,
    releaseId: string | null,
    at: string,
  ): Promise<void> {
    await trx
      .updateTable('report_cases')
      .set({
        corrective_available_at: at,
        fixed_release_id: releaseId,
        updated_at: this.#clock.now().toISOString(),
      })
      .where('org_id', '=', orgId)
      .where('vuln_id', '=', vulnId)
      .where('product_id', '=', productId)
      .where('status', '=', 'open')
      .where('corrective_available_at', 'is', null)
      .execute();
  }

  async update(
    actor: string,
    orgId: string,
    id: string,
    patch: { details?: CaseDetails; correctiveAvailableAt?: string; status?: 'open' | 'closed' },
  ): Promise<ReportCase> {
    await this.get(orgId, id);
    await inTransaction(this.#db, async (trx) => {
      const current = await trx
        .selectFrom('report_cases')
        .select('details')
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      await trx
        .updateTable('report_cases')
        .set({
          ...(patch.details
            ? {
                details: JSON.stringify({
                  ...(JSON.parse(current.details) as CaseDetails),
                  ...patch.details,
                }),
              }
            : {}),
          ...(patch.correctiveAvailableAt ? { corrective_available_at: patch.correctiveAvailableAt } : {}),
          ...(patch.status ? { status: patch.status } : {}),
          updated_at: this.#clock.now().toISOString(),
        })
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'report-case.update',
        targetType: 'report-case',
        targetId: id,
        details: { ...patch },
      });
    });
    return this.get(orgId, id);
  }

  /** Records that a stage was submitted (to the CSIRT coordinator / ENISA single reporting platform). */
  async submit(
    actor: string,
    orgId: string,
    id: string,
    input: {
      stage: ReportStage;
      reference?: string;
      document?: Record<string, unknown>;
      submittedAt?: string;
    },
  ): Promise<ReportCase> {
    const c = await this.get(orgId, id);
    if (!reportStages.includes(input.stage)) throw invalid('stage', `one of ${reportStages.join(', ')}`);
    if (c.submissions.some((s) => s.stage === input.stage) && input.stage !== 'final-report')
      throw conflict(
        `the ${input.stage} of this case was already submitted; submit an update as the final report`,
      );
    const document = input.document ?? (await this.draft(orgId, id, input.stage));
    const now = this.#clock.now();
    await inTransaction(this.#db, async (trx) => {
      const sid = newId('rps', now);
      await trx
        .insertInto('report_submissions')
        .values({
          id: sid,
          case_id: id,
          org_id: orgId,
          stage: input.stage,
          submitted_at: input.submittedAt ?? now.toISOString(),
          submitted_by: actor,
          reference: input.reference ?? null,
          document: JSON.stringify(document),
        })
        .execute();
      if (input.stage === 'final-report')
        await trx
          .updateTable('report_cases')
          .set({ status: 'closed', updated_at: now.toISOString() })
          .where('id', '=', id)
          .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'report-case.submit',
        targetType: 'report-case',
        targetId: id,
        details: { stage: input.stage, reference: input.reference ?? null, submissionId: sid },
      });
    });
    return this.get(orgId, id);
  }

  async get(orgId: string, id: string): Promise<ReportCase> {
    const row = await this.#db
      .selectFrom('report_cases')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('report case', id);
    const submissions = await this.#db
      .selectFrom('report_submissions')
      .selectAll()
      .where('case_id', '=', id)
      .orderBy('id')
      .execute();
    return this.#toCase(row, submissions);
  }

  #toCase(
    row: ReportCasesTable,
    submissions: Array<{
      id: string;
      stage: string;
      submitted_at: string;
      submitted_by: string;
      reference: string | null;
    }>,
  ): ReportCase {
    const clocks = stageClocks(
      {
        kind: row.kind as CaseKind,
        awareAt: row.aware_at,
        correctiveAvailableAt: row.corrective_available_at,
      },
      submissions.map((s) => ({ stage: s.stage, submittedAt: s.submitted_at })),
      this.#clock.now(),
    );
    const open = clocks
      .filter((c) => c.dueAt && !c.submittedAt)
      .map((c) => c.dueAt as string)
      .sort();
    return {
      id: row.id,
      kind: row.kind as CaseKind,
      vulnerabilityId: row.vuln_id,
      productId: row.product_id,
      title: row.title,
      source: row.source as ReportCase['source'],
      awareAt: row.aware_at,
      correctiveAvailableAt: row.corrective_available_at,
      fixedReleaseId: row.fixed_release_id,
      details: JSON.parse(row.details) as CaseDetails,
      status: row.status as ReportCase['status'],
      clocks,
      nextDueAt: row.status === 'open' ? (open[0] ?? null) : null,
      submissions: submissions.map((s) => ({
        id: s.id,
        stage: s.stage as ReportStage,
        submittedAt: s.submitted_at,
        submittedBy: s.submitted_by,
        reference: s.reference,
      })),
      createdAt: row.created_at,
      createdBy: row.created_by,
    };
  }

  /** Open cases, soonest deadline first; `due` narrows to overdue ones or those due within `withinHours`. */
  async list(
    orgId: string,
    filter: { status?: 'open' | 'closed'; due?: 'overdue' | 'upcoming'; withinHours?: number } = {},
  ): Promise<ReportCase[]> {
    let q = this.#db.selectFrom('report_cases').selectAll().where('org_id', '=', orgId);
    if (filter.status) q = q.where('status', '=', filter.status);
    const rows = await q.orderBy('id').limit(1000).execute();
    const submissions = rows.length
      ? await this.#db
          .selectFrom('report_submissions')
          .selectAll()
          .where('org_id', '=', orgId)
          .where(
            'case_id',
            'in',
            rows.map((r) => r.id),
          )
          .orderBy('id')
          .execute()
      : [];
    const now = this.#clock.now().getTime();
    const horizon = now + (filter.withinHours ?? 72) * 3_600_000;
    return rows
      .map((r) =>
        this.#toCase(
          r,
          submissions.filter((s) => s.case_id === r.id),
        ),
      )
      .filter((c) => {
        if (filter.due === 'overdue')
          return c.status === 'open' && c.clocks.some((k) => k.state === 'overdue');
        if (filter.due === 'upcoming')
          return (
            c.status === 'open' &&
            c.clocks.some((k) => k.state === 'due' && Date.parse(k.dueAt as string) <= horizon)
          );
        return true;
      })
      .sort((a, b) => ((a.nextDueAt ?? '9999') < (b.nextDueAt ?? '9999') ? -1 : 1));
  }

  /**
   * A draft of the stage's report with what Art. 14(2) and (4) ask for, filled from the fleet:
   * product, affected versions, brands, devices in the field, Member States where known, nature
   * of the exploitation, mitigations and the corrective measure.
   */
  async draft(orgId: string, id: string, stage: ReportStage): Promise<Record<string, unknown>> {
    const c = await this.get(orgId, id);
    const product = await this.#db
      .selectFrom('products')
      .selectAll()
      .where('id', '=', c.productId)
      .executeTakeFirstOrThrow();
    const org = await this.#db
      .selectFrom('organizations')
      .selectAll()
      .where('id', '=', orgId)
      .executeTakeFirstOrThrow();
    const brands = await this.#db
      .selectFrom('product_brands')
      .innerJoin('brands', 'brands.id', 'product_brands.brand_id')
      .select(['brands.name', 'brands.responsible_party', 'brands.security_contact'])
      .where('product_brands.product_id', '=', c.productId)
      .execute();
    let affected: Record<string, unknown> = {};
    if (c.vulnerabilityId && this.#exposure) {
      const exposure = await this.#exposure.exposure(orgId, c.vulnerabilityId);
      const p = exposure.products.find((x) => x.productId === c.productId);
      const decisions = await this.#exposure.decisions(orgId, exposure.vulnerability.id);
      affected = {
        vulnerability: {
          id: exposure.vulnerability.id,
          aliases: exposure.vulnerability.aliases,
          summary: exposure.vulnerability.summary,
          severity: exposure.vulnerability.severity,
          knownExploited: exposure.vulnerability.knownExploited,
        },
        affectedVersions: (p?.releases ?? []).filter((r) => r.exposed).map((r) => r.version),
        devicesInField: p?.devicesExposed ?? 0,
        components: [
          ...new Map(
            (p?.releases ?? [])
              .flatMap((r) => r.components)
              .map((x) => [`${x.name}@${x.version}`, { name: x.name, version: x.version }]),
          ).values(),
        ],
        mitigations:
          c.details.mitigations ??
          (decisions
            .map((d) => d.actionStatement)
            .filter(Boolean)
            .join('\n') ||
            null),
      };
    }
    const fixedRelease = c.fixedReleaseId
      ? await this.#db
          .selectFrom('releases')
          .select(['version', 'published_at'])
          .where('id', '=', c.fixedReleaseId)
          .executeTakeFirst()
      : undefined;
    const clock = c.clocks.find((k) => k.stage === stage);
    // The manufacturer is who places the product on the market under its name: each brand's
    // responsible party with its security contact (CRA Art. 3(13), Art. 21 for own-brand resellers;
    // name and contact as Annex II(1) words them). Without brands, the organisation itself.
    const byParty = new Map<string, { name: string; contact: string | null; brands: string[] }>();
    for (const b of brands) {
      const m = byParty.get(b.responsible_party) ?? { name: b.responsible_party, contact: null, brands: [] };
      m.contact ??= b.security_contact || null;
      m.brands.push(b.name);
      byParty.set(b.responsible_party, m);
    }
    const manufacturers =
      byParty.size > 0
        ? [...byParty.values()]
        : [{ name: org.name, contact: org.security_contact, brands: [] as string[] }];
    const draft = {
      regulation: 'Regulation (EU) 2024/2847 (Cyber Resilience Act), Article 14',
      stage,
      caseKind: c.kind,
      dueAt: clock?.dueAt ?? null,
      manufacturer: manufacturers[0] ?? null,
      manufacturers,
      product: {
        name: product.name,
        modelNumber: product.model_number,
        hardwareRevision: product.hardware_revision,
        supportEnds: product.support_ends,
      },
      brands: brands.map((b) => ({
        name: b.name,
        responsibleParty: b.responsible_party,
        securityContact: b.security_contact,
      })),
      awareAt: c.awareAt,
      memberStates: c.details.memberStates ?? [],
      natureOfExploitation:
        c.details.natureOfExploitation ??
        (typeof (affected.vulnerability as { knownExploited?: { name?: string } } | undefined)?.knownExploited
          ?.name === 'string'
          ? `Listed in CISA KEV: ${(affected.vulnerability as { knownExploited: { name: string } }).knownExploited.name}`
          : null),
      ...(c.kind === 'severe-incident'
        ? {
            suspectedMalicious: c.details.suspectedMalicious ?? null,
            description: c.details.description ?? null,
          }
        : {}),
      ...affected,
      correctiveMeasure: fixedRelease
        ? { release: fixedRelease.version, availableAt: c.correctiveAvailableAt ?? fixedRelease.published_at }
        : c.correctiveAvailableAt
          ? { availableAt: c.correctiveAvailableAt }
          : null,
    };
    return { ...draft, missing: missingFrom(c.kind, stage, draft) };
  }
}

export interface MissingItem {
  field: string;
  message: string;
}

/**
 * What the stage's report must contain (CRA Art. 14(2) for actively exploited vulnerabilities,
 * 14(4) for severe incidents) and the draft could not fill from the fleet. Shown, not enforced:
 * a report that was sent through the single reporting platform must be recordable even when
 * incomplete, and the early warning is due within 24 hours whatever is known by then.
 */
export function missingFrom(
  kind: string,
  stage: ReportStage,
  draft: {
    manufacturers: Array<{ name: string; contact: string | null }>;
    memberStates: unknown[];
    natureOfExploitation?: unknown;
    mitigations?: unknown;
    suspectedMalicious?: unknown;
    description?: unknown;
    severity?: unknown;
    vulnerability?: { summary?: string; severity?: { score: number | null; rating: string | null } };
    correctiveMeasure: unknown;
  },
): MissingItem[] {
  const out: MissingItem[] = [];
  const need = (ok: boolean, field: string, message: string): void => {
    if (!ok) out.push({ field, message });
  };
  for (const [i, m] of draft.manufacturers.entries()) {
    need(m.name.trim() !== '', `/manufacturers/${i}/name`, "the manufacturer's name (Annex II(1))");
    need(
      !!m.contact,
      `/manufacturers/${i}/contact`,
      `a contact of ${m.name || 'the manufacturer'} (Annex II(1)); set the brand's security contact`,
    );
  }
  const present = (v: unknown): boolean => v !== null && v !== undefined && v !== '';
  const memberStates = (clause: string): void =>
    need(
      draft.memberStates.length > 0,
      '/memberStates',
      `the Member States where the product is made available, where applicable (Art. ${clause})`,
    );
  if (kind === 'severe-incident') {
    if (stage === 'early-warning') {
      need(
        present(draft.suspectedMalicious),
        '/suspectedMalicious',
        'whether the incident is suspected to be caused by unlawful or malicious acts (Art. 14(4)(a))',
      );
      memberStates('14(4)(a)');
    }
    if (stage !== 'early-warning')
      need(
        present(draft.description),
        '/description',
        stage === 'notification'
          ? 'the nature of the incident and an initial assessment (Art. 14(4)(b))'
          : 'a detailed description: severity, impact, type of threat or root cause (Art. 14(4)(c))',
      );
    if (stage !== 'early-warning')
      need(
        present(draft.mitigations) || present(draft.correctiveMeasure),
        '/mitigations',
        `corrective or mitigating measures taken (Art. 14(4)(${stage === 'notification' ? 'b' : 'c'}))`,
      );
    return out;
  }
  if (stage === 'early-warning') memberStates('14(2)(a)');
  if (stage === 'notification') {
    need(
      present(draft.vulnerability?.summary),
      '/vulnerability/summary',
      'general information about the product and the vulnerability (Art. 14(2)(b))',
    );
    need(
      present(draft.natureOfExploitation),
      '/natureOfExploitation',
      'the general nature of the exploit (Art. 14(2)(b))',
    );
    need(
      present(draft.mitigations) || present(draft.correctiveMeasure),
      '/mitigations',
      'corrective or mitigating measures taken, and those users can take (Art. 14(2)(b))',
    );
  }
  if (stage === 'final-report') {
    const severity = draft.vulnerability?.severity;
    need(
      !!severity && (severity.score !== null || severity.rating !== null),
      '/vulnerability/severity',
      'the severity and impact of the vulnerability (Art. 14(2)(c)(i))',
    );
    need(
      present(draft.correctiveMeasure),
      '/correctiveMeasure',
      'the security update or other corrective measure made available (Art. 14(2)(c)(iii))',
    );
  }
  return out;
}

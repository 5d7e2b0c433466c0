import { VERSION } from '../../version.js';
import type { TriageStatus, VexJustification } from '../triage-status.js';
import { releasePurl, type VulnerabilityStatements } from './statements.js';

/** CSAF 2.0 flag labels (3.2.3.5) for the OpenVEX / CISA justifications; they use the same words. */
const flagOf: Record<VexJustification, string> = {
  component_not_present: 'component_not_present',
  vulnerable_code_not_present: 'vulnerable_code_not_present',
  vulnerable_code_not_in_execute_path: 'vulnerable_code_not_in_execute_path',
  vulnerable_code_cannot_be_controlled_by_adversary: 'vulnerable_code_cannot_be_controlled_by_adversary',
  inline_mitigations_already_exist: 'inline_mitigations_already_exist',
};

export interface CsafInput {
  category: 'csaf_security_advisory' | 'csaf_vex';
  publisher: { name: string; namespace: string; contact: string | null };
  orgSlug: string;
  trackingId: string;
  title: string;
  status: 'draft' | 'final';
  /** Revision history, oldest first; the last one is the document's version. */
  revisions: Array<{ date: string; summary: string }>;
  initialReleaseDate: string;
  statements: VulnerabilityStatements[];
  selfUrl: string | null;
}

/** CSAF 2.0 file name rule (5.1): the tracking id, lower case, runs of other characters as `_`. */
export function csafFilename(trackingId: string): string {
  return `${trackingId.toLowerCase().replace(/[^+\-a-z0-9]+/g, '_')}.json`;
}

/**
 * Builds a CSAF 2.0 document from triage and fix data. Product ids are release ids; each release
 * is a product_version branch under vendor → product_name, with a purl and the model number as
 * identification helpers. Status mapping: in_triage → under_investigation, affected →
 * known_affected (with a vendor_fix or workaround remediation), not_affected and false_positive →
 * known_not_affected (with a justification flag or an impact threat), fixed → fixed (and
 * first_fixed for the release that fixes it).
 */
export function buildCsaf(input: CsafInput): Record<string, unknown> {
  const releases = new Map<string, { productName: string; modelNumber: string; version: string }>();
  for (const s of input.statements) for (const r of s.releases) releases.set(r.releaseId, r);
  const products = new Map<
    string,
    { name: string; model: string; versions: Array<{ id: string; version: string }> }
  >();
  for (const [id, r] of releases) {
    const p = products.get(r.productName + r.modelNumber) ?? {
      name: r.productName,
      model: r.modelNumber,
      versions: [],
    };
    p.versions.push({ id, version: r.version });
    products.set(r.productName + r.modelNumber, p);
  }
  const productTree = {
    branches: [
      {
        category: 'vendor',
        name: input.publisher.name,
        branches: [...products.values()].map((p) => ({
          category: 'product_name',
          name: p.name,
          branches: p.versions.map((v) => ({
            category: 'product_version',
            name: v.version,
            product: {
              product_id: v.id,
              name: `${input.publisher.name} ${p.name} ${v.version}`,
              product_identification_helper: {
                purl: releasePurl(input.orgSlug, p.model, v.version),
                model_numbers: [p.model],
              },
            },
          })),
        })),
      },
    ],
  };
  const vulnerabilities = input.statements.map((s) => {
    const ids = (status: TriageStatus[]) =>
      s.releases.filter((r) => status.includes(r.status)).map((r) => r.releaseId);
    const underInvestigation = ids(['in_triage']);
    const knownAffected = ids(['affected']);
    const notAffected = ids(['not_affected', 'false_positive']);
    const fixed = ids(['fixed']);
    const firstFixed = s.releases.filter((r) => r.firstFixed && r.status === 'fixed').map((r) => r.releaseId);
    const productStatus: Record<string, string[]> = {};
    if (underInvestigation.length) productStatus.under_investigation = underInvestigation;
    if (knownAffected.length) productStatus.known_affected = knownAffected;
    if (notAffected.length) productStatus.known_not_affected = notAffected;
    if (fixed.length) productStatus.fixed = fixed;
    if (firstFixed.length) productStatus.first_fixed = firstFixed;
    const remediations: Array<Record<string, unknown>> = [];
    const fixVersions = s.releases.filter((r) => r.firstFixed).map((r) => r.version);
    // The maker's own action statements, word for word (CSAF 3.2.3.12), one remediation per text.
    const actions = new Map<string, string[]>();
    for (const r of s.releases)
      if ((r.status === 'affected' || r.status === 'in_triage') && r.decision?.actionStatement)
        actions.set(r.decision.actionStatement, [
          ...(actions.get(r.decision.actionStatement) ?? []),
          r.releaseId,
        ]);
    if (knownAffected.length || underInvestigation.length) {
      const affectedIds = [...knownAffected, ...underInvestigation];
      if (fixVersions.length)
        remediations.push({
          category: 'vendor_fix',
          details: `Update the firmware to ${fixVersions.join(' or ')} or later.`,
          product_ids: affectedIds,
        });
      for (const [details, productIds] of actions)
        remediations.push({ category: 'mitigation', details, product_ids: productIds });
      const covered = new Set([...actions.values()].flat());
      const bare = affectedIds.filter((id) => !covered.has(id));
      if (!fixVersions.length && bare.length)
        remediations.push({
          category: 'none_available',
          details: 'A fix is being prepared; no remediation is available yet.',
          product_ids: bare,
        });
    }
    const flags: Array<Record<string, unknown>> = [];
    const threats: Array<Record<string, unknown>> = [];
    const byJustification = new Map<string, string[]>();
    // The maker's impact statements, word for word (CSAF 3.2.3.13 `impact`), next to the flags.
    const impacts = new Map<string, string[]>();
    for (const r of s.releases.filter((x) => x.status === 'not_affected' || x.status === 'false_positive')) {
      const justification =
        r.decision?.justification ?? (r.status === 'false_positive' ? 'component_not_present' : null);
      if (justification)
        byJustification.set(flagOf[justification], [
          ...(byJustification.get(flagOf[justification]) ?? []),
          r.releaseId,
        ]);
      const impact = r.decision?.impactStatement ?? (justification ? null : 'Not affected.');
      if (impact) impacts.set(impact, [...(impacts.get(impact) ?? []), r.releaseId]);
    }
    for (const [details, productIds] of impacts)
      threats.push({ category: 'impact', details, product_ids: productIds });
    for (const [label, productIds] of byJustification) flags.push({ label, product_ids: productIds });
    const cve = /^CVE-\d{4}-\d{4,}$/.test(s.vulnerability.id)
      ? s.vulnerability.id
      : s.vulnerability.aliases.find((a) => /^CVE-\d{4}-\d{4,}$/.test(a));
    const otherIds = [s.vulnerability.id, ...s.vulnerability.aliases].filter((a) => a !== cve).slice(0, 10);
    const score = s.vulnerability.severity;
    const cvss =
      score.vector?.startsWith('CVSS:3.') && score.score !== null
        ? [
            {
              cvss_v3: {
                version: score.vector.slice(5, 8),
                vectorString: score.vector,
                baseScore: score.score,
                baseSeverity: (score.rating ?? severityOf(score.score)).toUpperCase(),
              },
              products: s.releases.map((r) => r.releaseId),
            },
          ]
        : [];
    return {
      ...(cve ? { cve } : {}),
      ...(otherIds.length ? { ids: otherIds.map((text) => ({ system_name: systemOf(text), text })) } : {}),
      notes: [
        {
          category: 'description',
          title: 'Description',
          text: s.vulnerability.summary || s.vulnerability.id,
        },
      ],
      product_status: productStatus,
      ...(remediations.length ? { remediations } : {}),
      ...(flags.length ? { flags } : {}),
      ...(threats.length ? { threats } : {}),
      ...(cvss.length ? { scores: cvss } : {}),
    };
  });
  const last = input.revisions.at(-1);
  return {
    document: {
      category: input.category,
      csaf_version: '2.0',
      distribution: { tlp: { label: 'WHITE', url: 'https://www.first.org/tlp/' } },
      lang: 'en',
      notes: [
        {
          category: 'summary',
          title: 'Summary',
          text: `${input.title}. Status of ${input.publisher.name} firmware releases as triaged by the manufacturer.`,
        },
      ],
      publisher: {
        category: 'vendor',
        name: input.publisher.name,
        namespace: input.publisher.namespace,
        ...(input.publisher.contact ? { contact_details: input.publisher.contact } : {}),
      },
      ...(input.selfUrl
        ? { references: [{ category: 'self', summary: 'This document', url: input.selfUrl }] }
        : {}),
      title: input.title,
      tracking: {
        current_release_date: last?.date ?? input.initialReleaseDate,
        generator: {
          date: last?.date ?? input.initialReleaseDate,
          engine: { name: 'brickless', version: VERSION },
        },
        id: input.trackingId,
        initial_release_date: input.initialReleaseDate,
        revision_history: input.revisions.map((r, i) => ({
          date: r.date,
          number: String(i + 1),
          summary: r.summary,
        })),
        status: input.status,
        version: String(input.revisions.length),
      },
    },
    product_tree: productTree,
    vulnerabilities,
  };
}

function severityOf(score: number): string {
  return score >= 9 ? 'critical' : score >= 7 ? 'high' : score >= 4 ? 'medium' : score > 0 ? 'low' : 'none';
}

function systemOf(id: string): string {
  if (id.startsWith('GHSA-')) return 'GitHub Security Advisory';
  if (id.startsWith('GO-')) return 'Go Vulnerability Database';
  if (id.startsWith('RUSTSEC-')) return 'RustSec';
  if (id.startsWith('USN-')) return 'Ubuntu Security Notice';
  return 'other';
}

let validator: Promise<(doc: unknown) => Promise<{ isValid: boolean; errors: string[] }>> | null = null;

/**
 * BSI's csaf-validator-lib: the strict schema and every mandatory test (its `basic` set). Loaded
 * on first use because it takes seconds to compile its schemas.
 */
export function validateCsaf(document: unknown): Promise<{ isValid: boolean; errors: string[] }> {
  validator ??= (async () => {
    // @ts-expect-error the library ships JavaScript without type declarations for these paths
    const { default: validateStrict } = await import('@secvisogram/csaf-validator-lib/validateStrict.js');
    // @ts-expect-error see above
    const basic = await import('@secvisogram/csaf-validator-lib/basic.js');
    return async (doc: unknown) => {
      const result = (await validateStrict(Object.values(basic), doc)) as {
        isValid: boolean;
        tests: Array<{ name: string; errors: Array<{ message: string; instancePath: string }> }>;
      };
      return {
        isValid: result.isValid,
        errors: result.tests.flatMap((t) => t.errors.map((e) => `${t.name} ${e.instancePath}: ${e.message}`)),
      };
    };
  })();
  return validator.then((v) => v(document));
}

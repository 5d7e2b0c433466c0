import { createHash, randomUUID } from 'node:crypto';
import type { TriageStatus, VexJustification } from '../triage-status.js';
import { buildCsaf } from './csaf.js';
import { releasePurl, type VulnerabilityStatements } from './statements.js';

export const vexFormats = ['openvex', 'cyclonedx', 'csaf'] as const;
export type VexFormat = (typeof vexFormats)[number];

const openVexStatus: Record<TriageStatus, string> = {
  in_triage: 'under_investigation',
  affected: 'affected',
  not_affected: 'not_affected',
  false_positive: 'not_affected',
  fixed: 'fixed',
};

const cdxState: Record<TriageStatus, string> = {
  in_triage: 'in_triage',
  affected: 'exploitable',
  not_affected: 'not_affected',
  false_positive: 'false_positive',
  fixed: 'resolved',
};

/** CycloneDX 1.6 impactAnalysisJustification for each OpenVEX justification. */
const cdxJustification: Record<VexJustification, string> = {
  component_not_present: 'code_not_present',
  vulnerable_code_not_present: 'code_not_present',
  vulnerable_code_not_in_execute_path: 'code_not_reachable',
  vulnerable_code_cannot_be_controlled_by_adversary: 'protected_by_mitigating_control',
  inline_mitigations_already_exist: 'protected_by_mitigating_control',
};

export interface VexContext {
  org: { slug: string; name: string; contact: string | null };
  baseUrl: string;
  now: string;
}

/** OpenVEX v0.2.0 (openvex.dev/ns/v0.2.0): one statement per vulnerability and status. */
export function openVex(statements: VulnerabilityStatements[], ctx: VexContext): Record<string, unknown> {
  const out: Array<Record<string, unknown>> = [];
  for (const s of statements) {
    const groups = new Map<string, typeof s.releases>();
    for (const r of s.releases) {
      const key = `${r.status}\u0000${r.decision?.id ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    for (const releases of groups.values()) {
      const first = releases[0];
      if (!first) continue;
      const status = openVexStatus[first.status];
      const d = first.decision;
      out.push({
        vulnerability: {
          name: s.vulnerability.id,
          ...(s.vulnerability.aliases.length ? { aliases: s.vulnerability.aliases } : {}),
        },
        products: releases.map((r) => ({ '@id': releasePurl(ctx.org.slug, r.modelNumber, r.version) })),
        status,
        ...(status === 'not_affected'
          ? d?.justification
            ? { justification: d.justification }
            : {
                impact_statement:
                  d?.impactStatement ??
                  'The match was a false positive: the vulnerable component is not in this firmware.',
              }
          : {}),
        ...(status === 'not_affected' && d?.justification && d.impactStatement
          ? { impact_statement: d.impactStatement }
          : {}),
        ...(status === 'affected'
          ? {
              action_statement:
                d?.actionStatement ?? 'Update to a fixed firmware release when it is offered.',
            }
          : {}),
        ...(d ? { timestamp: d.createdAt } : {}),
      });
    }
  }
  const digest = createHash('sha256').update(JSON.stringify(out)).digest('hex').slice(0, 32);
  return {
    '@context': 'https://openvex.dev/ns/v0.2.0',
    '@id': `${ctx.baseUrl}/public/orgs/${ctx.org.slug}/vex/${digest}`,
    author: ctx.org.name,
    timestamp: ctx.now,
    version: 1,
    tooling: 'brickless',
    statements: out,
  };
}

/** CycloneDX 1.6 VEX: the releases as components, each vulnerability with analysis and affects. */
export function cycloneDxVex(
  statements: VulnerabilityStatements[],
  ctx: VexContext,
): Record<string, unknown> {
  const components = new Map<string, Record<string, unknown>>();
  for (const s of statements)
    for (const r of s.releases)
      components.set(r.releaseId, {
        type: 'firmware',
        'bom-ref': r.releaseId,
        name: r.productName,
        version: r.version,
        purl: releasePurl(ctx.org.slug, r.modelNumber, r.version),
      });
  const vulnerabilities: Array<Record<string, unknown>> = [];
  for (const s of statements) {
    const groups = new Map<string, typeof s.releases>();
    for (const r of s.releases)
      groups.set(`${r.status}\u0000${r.decision?.id ?? ''}`, [
        ...(groups.get(`${r.status}\u0000${r.decision?.id ?? ''}`) ?? []),
        r,
      ]);
    for (const releases of groups.values()) {
      const first = releases[0];
      if (!first) continue;
      const d = first.decision;
      const sev = s.vulnerability.severity;
      vulnerabilities.push({
        'bom-ref': `${s.vulnerability.id}/${first.status}/${d?.id ?? 'none'}`,
        id: s.vulnerability.id,
        ...(s.vulnerability.id.startsWith('CVE-')
          ? { source: { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${s.vulnerability.id}` } }
          : {}),
        ...(sev.score !== null || sev.rating
          ? {
              ratings: [
                {
                  ...(sev.score !== null ? { score: sev.score } : {}),
                  ...(sev.rating ? { severity: sev.rating } : {}),
                  ...(sev.vector?.startsWith('CVSS:3') ? { method: 'CVSSv31', vector: sev.vector } : {}),
                },
              ],
            }
          : {}),
        ...(s.vulnerability.summary ? { description: s.vulnerability.summary } : {}),
        analysis: {
          state: cdxState[first.status],
          ...(d?.justification ? { justification: cdxJustification[d.justification] } : {}),
          ...(first.status === 'fixed'
            ? { response: ['update'] }
            : first.status === 'affected'
              ? { response: ['update'] }
              : {}),
          // The maker's impact statement as written; the action statement goes to `recommendation`.
          ...(d?.impactStatement ? { detail: d.impactStatement } : {}),
        },
        ...(d?.actionStatement && (first.status === 'affected' || first.status === 'in_triage')
          ? { recommendation: d.actionStatement }
          : {}),
        affects: releases.map((r) => ({ ref: r.releaseId })),
      });
    }
  }
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    serialNumber: `urn:uuid:${randomUUID()}`,
    version: 1,
    metadata: {
      timestamp: ctx.now,
      tools: { components: [{ type: 'application', name: 'brickless' }] },
      supplier: { name: ctx.org.name },
    },
    components: [...components.values()],
    vulnerabilities,
  };
}

/** CSAF 2.0 csaf_vex profile (4.5): the same mapping as the advisories, as a VEX document. */
export function csafVex(statements: VulnerabilityStatements[], ctx: VexContext): Record<string, unknown> {
  const digest = createHash('sha256')
    .update(
      JSON.stringify(
        statements.map((s) => [s.vulnerability.id, s.releases.map((r) => [r.releaseId, r.status])]),
      ),
    )
    .digest('hex')
    .slice(0, 12);
  return buildCsaf({
    category: 'csaf_vex',
    publisher: { name: ctx.org.name, namespace: ctx.baseUrl, contact: ctx.org.contact },
    orgSlug: ctx.org.slug,
    trackingId: `${ctx.org.slug.toUpperCase()}-VEX-${digest}`,
    title: `VEX of ${ctx.org.name} firmware`,
    status: 'final',
    revisions: [{ date: ctx.now, summary: 'Generated from triage decisions' }],
    initialReleaseDate: ctx.now,
    statements,
    selfUrl: null,
  });
}

import type { VexDecisionsTable } from '../store/schema.js';
import { comparators } from './versions/index.js';

/** Triage states (issue: in_triage, affected, not_affected, fixed, false_positive). */
export const triageStatuses = ['in_triage', 'affected', 'not_affected', 'fixed', 'false_positive'] as const;
export type TriageStatus = (typeof triageStatuses)[number];

/** OpenVEX v0.2.0 / CISA "Vulnerability Exploitability eXchange (VEX) – Status Justifications". */
export const vexJustifications = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;
export type VexJustification = (typeof vexJustifications)[number];

export interface Decision {
  id: string;
  vulnerabilityId: string;
  productId: string;
  releaseId: string | null;
  status: TriageStatus;
  justification: VexJustification | null;
  impactStatement: string | null;
  actionStatement: string | null;
  fixedReleaseId: string | null;
  fixedVersion: string | null;
  createdAt: string;
  createdBy: string;
}

/** Statuses under which devices on the release count as exposed. */
export const exposedStatuses: ReadonlySet<TriageStatus> = new Set(['in_triage', 'affected']);

/**
 * A release's effective status: its own latest decision, else the product's latest; a product
 * decision "fixed in F" makes F and every later release fixed and leaves earlier ones affected.
 * Without any decision a matched release is in triage.
 */
export function effectiveStatus(
  release: { id: string; productId: string; version: string },
  decisions: Decision[],
): { status: TriageStatus; decision: Decision | null } {
  const latest = (list: Decision[]): Decision | null =>
    list.reduce<Decision | null>(
      (a, d) => (!a || d.createdAt > a.createdAt || (d.createdAt === a.createdAt && d.id > a.id) ? d : a),
      null,
    );
  const own = latest(decisions.filter((d) => d.releaseId === release.id));
  if (own) return { status: own.status, decision: own };
  const product = latest(decisions.filter((d) => d.productId === release.productId && d.releaseId === null));
  if (!product) return { status: 'in_triage', decision: null };
  if (product.status === 'fixed' && product.fixedVersion) {
    const fixed = comparators.semver(release.version, product.fixedVersion) >= 0;
    return { status: fixed ? 'fixed' : 'affected', decision: product };
  }
  return { status: product.status, decision: product };
}

/** A stored decision row (with the fixing release's version joined in) as the domain sees it. */
export function toDecision(r: VexDecisionsTable & { fixed_version: string | null }): Decision {
  return {
    id: r.id,
    vulnerabilityId: r.vuln_id,
    productId: r.product_id,
    releaseId: r.release_id,
    status: r.status as TriageStatus,
    justification: r.justification as VexJustification | null,
    impactStatement: r.impact_statement,
    actionStatement: r.action_statement,
    fixedReleaseId: r.fixed_release_id,
    fixedVersion: r.fixed_version,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

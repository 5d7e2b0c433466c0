/** What the vulnerability API answers (packages/server/src/vulnerabilities/exposure.ts, overview.ts). */

/** The triage statuses the API accepts (triage-status.ts triageStatuses), in the order offered. */
export const triageStatuses = ['in_triage', 'affected', 'not_affected', 'fixed', 'false_positive'] as const;
export type TriageStatus = (typeof triageStatuses)[number];

/** The justifications the API accepts for not_affected (OpenVEX v0.2.0 / CISA, triage-status.ts). */
export const vexJustifications = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;
export type VexJustification = (typeof vexJustifications)[number];

/** The severity filter's values (overview-filter.ts severityRatings). */
export const severityRatings = ['critical', 'high', 'medium', 'low', 'none', 'unknown'] as const;

export interface OverviewItem {
  id: string;
  summary: string;
  severity: { rating: string | null; score: number | null };
  knownExploited: boolean;
  products: number;
  releasesExposed: number;
  devicesExposed: number;
  statuses: TriageStatus[];
}

export interface KnownExploited {
  cveId: string;
  dateAdded: string;
  dueDate: string | null;
  name: string;
  ransomware: string;
  requiredAction: string;
}

export interface VulnerabilitySummary {
  id: string;
  records: { id: string; source: string; summary: string; modified: string; withdrawn: string | null }[];
  aliases: string[];
  severity: { rating: string | null; score: number | null; vector: string | null };
  knownExploited: KnownExploited | null;
  summary: string;
  description?: string;
  references?: string[];
}

export interface ReleaseExposure {
  releaseId: string;
  version: string;
  status: TriageStatus;
  exposed: boolean;
  components: {
    name: string;
    version: string | null;
    purl: string | null;
    cpe: string | null;
    matchedBy: string;
    affected: string;
    record: string;
  }[];
  devices: number;
  brands: { brandId: string | null; name: string | null; devices: number }[];
}

export interface ProductExposure {
  productId: string;
  name: string;
  modelNumber: string;
  releases: ReleaseExposure[];
  devicesExposed: number;
}

export interface Exposure {
  vulnerability: VulnerabilitySummary;
  products: ProductExposure[];
  devicesExposed: number;
  releasesExposed: number;
}

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

export interface ExposedDevice {
  deviceId: string;
  releaseId: string;
  productId: string;
}

export interface ReleaseItem {
  id: string;
  version: string;
  productId: string;
  kind?: string;
}

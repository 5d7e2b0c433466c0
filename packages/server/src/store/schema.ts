import type { Generated } from 'kysely';

/**
 * Table types shared by both dialects. Times are ISO 8601 UTC text (`Date#toISOString`), which
 * sorts correctly as text and moves unchanged between SQLite and PostgreSQL (decision 0003).
 * JSON documents are text, parsed in the domain store, so both dialects return the same shape.
 */
export interface OrganizationsTable {
  id: string;
  slug: string;
  name: string;
  security_contact: string | null;
  security_policy: string | null;
  created_at: string;
  updated_at: string;
}

export interface BrandsTable {
  id: string;
  org_id: string;
  name: string;
  responsible_party: string;
  security_contact: string;
  created_at: string;
  updated_at: string;
}

export interface ProductsTable {
  id: string;
  org_id: string;
  model_number: string;
  name: string;
  hardware_revision: string;
  placed_on_market: string | null;
  support_ends: string;
  capabilities: string;
  created_at: string;
  updated_at: string;
}

export interface ProductBrandsTable {
  product_id: string;
  brand_id: string;
}

export interface DevicesTable {
  id: string;
  org_id: string;
  product_id: string;
  brand_id: string | null;
  serial: string;
  hardware_id: string | null;
  firmware_version: string | null;
  status: string;
  claim_state: string;
  created_at: string;
  updated_at: string;
  last_seen_at: string | null;
  deleted_at: string | null;
  online: Generated<number>;
  connected_node: string | null;
  security_version: number | null;
  /** The last endpoint record the device reported on (0006-continuity). */
  endpoint_version: number | null;
  endpoint_status: string | null;
  endpoint_at: string | null;
}

export interface DeviceTagsTable {
  device_id: string;
  tag: string;
}

export interface ApiTokensTable {
  id: string;
  org_id: string | null;
  role: string;
  name: string;
  token_hash: string;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface AuditEntriesTable {
  chain: string;
  seq: number;
  id: string;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadsTable {
  chain: string;
  seq: number;
  hash: string;
}

export interface DeviceCredentialsTable {
  id: string;
  org_id: string;
  device_id: string;
  kind: string;
  secret_hash: string | null;
  fingerprint: string | null;
  not_after: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface DeviceCasTable {
  id: string;
  org_id: string;
  cert_pem: string;
  key_sealed: string;
  fingerprint: string;
  not_after: string;
  created_at: string;
}

export interface DeviceEventsTable {
  id: string;
  org_id: string;
  device_id: string;
  name: string;
  severity: string;
  time: string;
  data: string;
  received_at: string;
}

export interface TelemetryTable {
  org_id: string;
  device_id: string;
  field: string;
  /** Milliseconds since the epoch (bigint: PostgreSQL returns it as text, the store converts). */
  ts: number | string;
  num_value: number | null;
  text_value: string | null;
}

export interface DeviceTwinsTable {
  device_id: string;
  org_id: string;
  desired: string;
  desired_version: number;
  reported: string;
  reported_version: number;
  updated_at: string;
}

export interface CommandsTable {
  id: string;
  org_id: string;
  device_id: string;
  name: string;
  params: string;
  status: string;
  idempotency_key: string | null;
  created_by: string;
  created_at: string;
  expires_at: string;
  delivered_at: string | null;
  completed_at: string | null;
  result: string | null;
}

export interface TufOnlineKeysTable {
  org_id: string;
  role: string;
  keyid: string;
  public_hex: string;
  private_sealed: string;
  created_at: string;
}

export interface TufMetadataTable {
  org_id: string;
  role: string;
  version: number;
  document: string;
  expires: string;
  created_at: string;
  created_by: string;
}

export interface TufTargetsDraftsTable {
  org_id: string;
  version: number;
  document: string;
  release_ids: string;
  created_at: string;
  created_by: string;
}

export interface ArtifactsTable {
  org_id: string;
  sha256: string;
  /** bigint: PostgreSQL returns it as a string. */
  length: number | string;
  media_type: string;
  created_at: string;
  created_by: string;
}

export interface ReleasesTable {
  id: string;
  org_id: string;
  product_id: string;
  version: string;
  kind: string;
  security_version: number;
  hardware: string;
  notes: string;
  filename: string;
  target_path: string;
  artifact_sha256: string;
  artifact_length: number | string;
  sbom_sha256: string | null;
  status: string;
  created_at: string;
  created_by: string;
  published_at: string | null;
}

export interface RolloutsTable {
  id: string;
  org_id: string;
  release_id: string;
  name: string;
  kind: string;
  selector: string;
  waves: string;
  success_threshold: number;
  failure_threshold: number;
  soak_seconds: number;
  pace_per_minute: number | null;
  window: string | null;
  max_deferral_seconds: number;
  status: string;
  current_wave: number;
  wave_started_at: string | null;
  wave_completed_at: string | null;
  status_reason: string | null;
  failures_acknowledged: number;
  created_by: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface RolloutDevicesTable {
  rollout_id: string;
  device_id: string;
  wave: number;
  state: string;
  reason: string | null;
  offers: number;
  offered_at: string | null;
  updated_at: string;
  finished_at: string | null;
}

export interface UpdateReportsTable {
  id: string;
  org_id: string;
  device_id: string;
  rollout_id: string | null;
  release_id: string | null;
  step: string;
  reason: string | null;
  time: string;
}

export interface SbomsTable {
  id: string;
  org_id: string;
  product_id: string;
  release_id: string;
  format: string;
  spec_version: string;
  serial_number: string | null;
  document_sha256: string;
  component_count: number;
  created_at: string;
  created_by: string;
}

export interface SbomComponentsTable {
  sbom_id: string;
  idx: number;
  org_id: string;
  bom_ref: string | null;
  type: string;
  name: string;
  version: string | null;
  purl: string | null;
  cpe: string | null;
  hashes: string;
  supplier: string | null;
}

export interface SbomComponentKeysTable {
  sbom_id: string;
  component_idx: number;
  org_id: string;
  key: string;
  version: string;
  scheme: string;
  distro: string | null;
}

export interface VulnerabilitiesTable {
  id: string;
  canonical_id: string;
  source: string;
  modified: string;
  published: string | null;
  withdrawn: string | null;
  summary: string;
  details: string;
  aliases: string;
  severity_rating: string | null;
  severity_score: number | null;
  severity_vector: string | null;
  reference_urls: string;
  imported_at: string;
}

export interface VulnerabilityIdsTable {
  alias: string;
  vuln_id: string;
}

export interface VulnerabilityAffectedTable {
  vuln_id: string;
  idx: number;
  key: string;
  scheme: string;
  distro: string | null;
  intervals: string;
  versions: string;
  summary: string;
}

export interface KnownExploitedTable {
  cve_id: string;
  vendor: string;
  product: string;
  name: string;
  date_added: string;
  due_date: string | null;
  ransomware: string;
  required_action: string;
  catalog_version: string;
  imported_at: string;
}

export interface VulnerabilityMatchesTable {
  org_id: string;
  sbom_id: string;
  component_idx: number;
  vuln_id: string;
  key: string;
  matched_by: string;
  affected_summary: string;
  first_matched_at: string;
}

export interface VexDecisionsTable {
  id: string;
  org_id: string;
  vuln_id: string;
  product_id: string;
  release_id: string | null;
  status: string;
  justification: string | null;
  impact_statement: string | null;
  action_statement: string | null;
  fixed_release_id: string | null;
  created_at: string;
  created_by: string;
}

export interface DeviceExposuresTable {
  org_id: string;
  vuln_id: string;
  device_id: string;
  release_id: string;
  first_exposed_at: string;
  fixed_at: string | null;
}

export interface ReportCasesTable {
  id: string;
  org_id: string;
  kind: string;
  vuln_id: string | null;
  product_id: string;
  title: string;
  source: string;
  aware_at: string;
  corrective_available_at: string | null;
  fixed_release_id: string | null;
  details: string;
  status: string;
  created_at: string;
  created_by: string;
  updated_at: string;
}

export interface ReportSubmissionsTable {
  id: string;
  case_id: string;
  org_id: string;
  stage: string;
  submitted_at: string;
  submitted_by: string;
  reference: string | null;
  document: string;
}

export interface AdvisoriesTable {
  id: string;
  org_id: string;
  tracking_id: string;
  title: string;
  vuln_ids: string;
  product_ids: string;
  category: string;
  status: string;
  version: number;
  document: string;
  initial_release_date: string | null;
  current_release_date: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
}

export interface DisclosuresTable {
  id: string;
  org_id: string;
  tracking_token_hash: string;
  product_id: string | null;
  title: string;
  description: string;
  contact: string | null;
  status: string;
  public_note: string | null;
  vuln_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface EndpointRecordsTable {
  org_id: string;
  version: number;
  mode: string;
  products: string | null;
  document: string;
  notice: string | null;
  created_at: string;
  created_by: string;
}

export interface Database {
  organizations: OrganizationsTable;
  brands: BrandsTable;
  products: ProductsTable;
  product_brands: ProductBrandsTable;
  devices: DevicesTable;
  device_tags: DeviceTagsTable;
  api_tokens: ApiTokensTable;
  audit_entries: AuditEntriesTable;
  audit_heads: AuditHeadsTable;
  device_credentials: DeviceCredentialsTable;
  telemetry: TelemetryTable;
  device_twins: DeviceTwinsTable;
  commands: CommandsTable;
  device_cas: DeviceCasTable;
  device_events: DeviceEventsTable;
  tuf_online_keys: TufOnlineKeysTable;
  tuf_metadata: TufMetadataTable;
  tuf_targets_drafts: TufTargetsDraftsTable;
  artifacts: ArtifactsTable;
  releases: ReleasesTable;
  rollouts: RolloutsTable;
  rollout_devices: RolloutDevicesTable;
  update_reports: UpdateReportsTable;
  sboms: SbomsTable;
  sbom_components: SbomComponentsTable;
  sbom_component_keys: SbomComponentKeysTable;
  vulnerabilities: VulnerabilitiesTable;
  vulnerability_ids: VulnerabilityIdsTable;
  vulnerability_affected: VulnerabilityAffectedTable;
  known_exploited: KnownExploitedTable;
  vulnerability_matches: VulnerabilityMatchesTable;
  vex_decisions: VexDecisionsTable;
  device_exposures: DeviceExposuresTable;
  report_cases: ReportCasesTable;
  report_submissions: ReportSubmissionsTable;
  advisories: AdvisoriesTable;
  disclosures: DisclosuresTable;
  endpoint_records: EndpointRecordsTable;
}

// Generated is re-exported for tables that later gain serial columns.
export type { Generated };

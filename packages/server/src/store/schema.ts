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
}

// Generated is re-exported for tables that later gain serial columns.
export type { Generated };

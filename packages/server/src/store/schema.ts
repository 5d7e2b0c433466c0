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
}

// Generated is re-exported for tables that later gain serial columns.
export type { Generated };

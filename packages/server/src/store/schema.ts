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
  /** The product's maximum message size after CONNECT (migration 0012); null: the global limit. */
  max_message_bytes: number | null;
  /** Days telemetry and device events are kept (migration 0026); null: the server-wide setting. */
  telemetry_retention_days: number | null;
  /** Days finished command history is kept (migration 0026); null: kept. */
  command_retention_days: number | null;
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
  /** The person who made the token (0013); null for service tokens. */
  person_id: string | null;
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

/** One per telemetry message stored with a key (migration 0009): a resend is stored once. */
export interface TelemetryReceiptsTable {
  device_id: string;
  message_key: string;
  received_at: number | string;
}

/** This node's last committed readiness write (migration 0009). */
export interface NodeHeartbeatsTable {
  node_id: string;
  checked_at: number | string;
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

/** An organisation's evidence signing key (0019, evidence/org-key.ts). */
export interface OrgSigningKeysTable {
  id: string;
  org_id: string;
  /** Ed25519, base64url of the raw 32 bytes. */
  public_key: string;
  /** PKCS#8 PEM sealed under the master key (purpose `org-signing-key:<org>`). */
  private_sealed: string;
  created_at: string;
  retired_at: string | null;
  /** JSON KeyRotation from the previous key; null for the first. */
  rotation: string | null;
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

/** One upload into the PostgreSQL artifact store (migration 0029); complete once `sha256` is set. */
export interface ArtifactBlobsTable {
  upload_id: string;
  org_id: string;
  sha256: string | null;
  /** bigint: PostgreSQL returns it as a string. */
  length: number | string;
  chunk_bytes: number;
  started_at: string;
  completed_at: string | null;
}

export interface ArtifactChunksTable {
  upload_id: string;
  seq: number;
  data: Buffer;
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
  /** RFC 3339; the rollout completes then with whatever devices have not updated (0011). */
  deadline_at: string | null;
}

export interface RolloutDevicesTable {
  rollout_id: string;
  device_id: string;
  wave: number;
  state: string;
  reason: string | null;
  /** The device's own words on why it failed (migration 0007). */
  message: string | null;
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
  /** The device's own words on why it failed (migration 0007). */
  message: string | null;
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

/** Which vulnerability (canonical id, a CVE where there is one) each record belongs to. */
export interface VulnerabilityGroupsTable {
  vuln_id: string;
  canonical_id: string;
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

export interface DisclosureMessagesTable {
  id: string;
  org_id: string;
  disclosure_id: string;
  author: string;
  actor: string;
  body: string;
  created_at: string;
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

export interface PeopleTable {
  id: string;
  email: string;
  display_name: string;
  platform_admin: number;
  password_hash: string | null;
  totp_sealed: string | null;
  totp_confirmed_at: string | null;
  totp_last_step: number | string | null;
  failed_attempts: number;
  throttled_until: string | null;
  session_epoch: number;
  created_at: string;
  created_by: string;
  last_sign_in_at: string | null;
  disabled_at: string | null;
}

export interface MembershipsTable {
  person_id: string;
  org_id: string;
  roles: string;
  created_at: string;
  updated_at: string;
}

export interface InvitationsTable {
  id: string;
  token_hash: string;
  org_id: string | null;
  email: string | null;
  roles: string;
  platform_admin: number;
  created_at: string;
  created_by: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
  revoked_at: string | null;
}

export interface SessionsTable {
  id_hash: string;
  handle: string;
  person_id: string;
  csrf_token: string;
  method: string;
  epoch: number;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
  revoked_at: string | null;
}

export interface RecoveryCodesTable {
  person_id: string;
  code_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface PasskeysTable {
  id: string;
  credential_id: string;
  person_id: string;
  public_key: string;
  counter: number | string;
  transports: string | null;
  rp_id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

export interface SignInChallengesTable {
  id: string;
  purpose: string;
  person_id: string | null;
  data: string;
  expires_at: string;
}

export interface OrgSignInTable {
  org_id: string;
  require: string;
  oidc_issuer: string | null;
  oidc_client_id: string | null;
  oidc_client_secret_sealed: string | null;
  oidc_groups_claim: string | null;
  oidc_group_roles: string | null;
  /** Space-separated scopes to request; null is `openid email profile` (0016). */
  oidc_scopes: string | null;
  updated_at: string;
}

/** Owners of devices (issue 18 §1; migration 0022). */
export interface OwnersTable {
  id: string;
  email: string;
  created_at: string;
  last_sign_in_at: string | null;
  /** `en` or `de`: the language of the owner's notices (migration 0025). */
  language: Generated<string>;
}

/** One notice to one owner (issue 18 §3; migration 0025; owner-notices/). */
export interface OwnerNoticesTable {
  id: string;
  owner_id: string;
  org_id: string;
  kind: string;
  product_id: string;
  device_id: string | null;
  dedupe_key: string;
  event_id: string;
  language: string;
  title: string;
  body: string;
  data: string;
  created_at: string;
  read_at: string | null;
  email_status: string;
  email_attempts: number;
  email_next_at: string | null;
  email_sent_at: string | null;
  email_error: string | null;
}

export interface DeviceClaimCodesTable {
  device_id: string;
  org_id: string;
  code_hash: string;
  created_at: string;
  created_by: string;
  used_at: string | null;
}

export interface DeviceOwnersTable {
  device_id: string;
  owner_id: string;
  role: string;
  created_at: string;
}

export interface DeviceShareInvitationsTable {
  token_hash: string;
  device_id: string;
  invited_by: string;
  email: string;
  role: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface OwnerLocalModeTable {
  device_id: string;
  org_id: string;
  owner_id: string;
  version: number;
  document: string;
  created_at: string;
}

export interface OwnerSessionsTable {
  id_hash: string;
  handle: string;
  owner_id: string;
  csrf_token: string;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  revoked_at: string | null;
}

export interface OwnerSignInLinksTable {
  token_hash: string;
  email: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface OwnerAttemptsTable {
  kind: string;
  subject: string;
  at: string;
}

/** Owners' passkeys (issue 18 §1; migration 0027), apart from the staff `passkeys`. */
export interface OwnerPasskeysTable {
  id: string;
  credential_id: string;
  owner_id: string;
  public_key: string;
  counter: number | string;
  transports: string | null;
  rp_id: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
}

/** What was deleted for an owner, without the data (migration 0026; docs/data-rights.md). */
export interface DeletionLedgerTable {
  id: string;
  at: string;
  reason: string;
  table_name: string;
  scope_column: string;
  scope_value: string;
  time_column: string | null;
  time_from: string | null;
  time_to: string | null;
}

/** OAuth clients of the app API (issue 18 §2; migration 0023). */
export interface OAuthAppsTable {
  id: string;
  org_id: string;
  name: string;
  client_type: string;
  secret_hash: string | null;
  redirect_uris: string;
  scopes: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  secret_rotated_at: string | null;
}

export interface OAuthGrantsTable {
  id: string;
  app_id: string;
  owner_id: string;
  org_id: string;
  scopes: string;
  created_at: string;
  updated_at: string;
}

export interface OAuthCodesTable {
  code_hash: string;
  grant_id: string;
  family_id: string;
  redirect_uri: string;
  scopes: string;
  code_challenge: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface OAuthTokensTable {
  token_hash: string;
  grant_id: string;
  family_id: string;
  kind: string;
  scopes: string;
  created_at: string;
  expires_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
}

export interface Database {
  deletion_ledger: DeletionLedgerTable;
  oauth_apps: OAuthAppsTable;
  oauth_grants: OAuthGrantsTable;
  oauth_codes: OAuthCodesTable;
  oauth_tokens: OAuthTokensTable;
  owners: OwnersTable;
  owner_passkeys: OwnerPasskeysTable;
  nodes: NodesTable;
  leases: LeasesTable;
  device_claim_codes: DeviceClaimCodesTable;
  device_owners: DeviceOwnersTable;
  owner_sessions: OwnerSessionsTable;
  owner_sign_in_links: OwnerSignInLinksTable;
  owner_attempts: OwnerAttemptsTable;
  owner_notices: OwnerNoticesTable;
  device_share_invitations: DeviceShareInvitationsTable;
  owner_local_mode: OwnerLocalModeTable;
  people: PeopleTable;
  memberships: MembershipsTable;
  invitations: InvitationsTable;
  sessions: SessionsTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  sign_in_challenges: SignInChallengesTable;
  org_sign_in: OrgSignInTable;
  organizations: OrganizationsTable;
  brands: BrandsTable;
  products: ProductsTable;
  security_metric_snapshots: SecurityMetricSnapshotsTable;
  outbound_events: OutboundEventsTable;
  org_signing_keys: OrgSigningKeysTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_cursors: WebhookCursorsTable;
  notifications: NotificationsTable;
  notification_preferences: NotificationPreferencesTable;
  notification_settings: NotificationSettingsTable;
  notified_events: NotifiedEventsTable;
  notification_dedupe: NotificationDedupeTable;
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
  artifact_blobs: ArtifactBlobsTable;
  artifact_chunks: ArtifactChunksTable;
  releases: ReleasesTable;
  rollouts: RolloutsTable;
  rollout_devices: RolloutDevicesTable;
  update_reports: UpdateReportsTable;
  sboms: SbomsTable;
  sbom_components: SbomComponentsTable;
  sbom_component_keys: SbomComponentKeysTable;
  vulnerabilities: VulnerabilitiesTable;
  vulnerability_ids: VulnerabilityIdsTable;
  vulnerability_groups: VulnerabilityGroupsTable;
  vulnerability_affected: VulnerabilityAffectedTable;
  known_exploited: KnownExploitedTable;
  vulnerability_matches: VulnerabilityMatchesTable;
  vex_decisions: VexDecisionsTable;
  device_exposures: DeviceExposuresTable;
  report_cases: ReportCasesTable;
  report_submissions: ReportSubmissionsTable;
  advisories: AdvisoriesTable;
  disclosures: DisclosuresTable;
  disclosure_messages: DisclosureMessagesTable;
  endpoint_records: EndpointRecordsTable;
  telemetry_receipts: TelemetryReceiptsTable;
  node_heartbeats: NodeHeartbeatsTable;
}

// Generated is re-exported for tables that later gain serial columns.
export type { Generated };

/** One day's patch and support figures of a product or a brand (0017, metrics/snapshots.ts). */
export interface SecurityMetricSnapshotsTable {
  org_id: string;
  scope: string;
  scope_id: string;
  /** YYYY-MM-DD, UTC. */
  day: string;
  devices: number;
  supported: number;
  newest_security: number;
  kev_exposed: number;
  recorded_at: string;
}

/**
 * What happened that someone outside must hear of (0018, notifications/outbox.ts): written in the
 * transaction of the change itself (a transactional outbox), read by the e-mail notifier and the
 * webhook dispatcher, each with its own cursor, so a restart or another node loses nothing.
 */
export interface WebhooksTable {
  id: string;
  org_id: string;
  url: string;
  /** JSON array of event types of notifications/catalogue.ts. */
  event_types: string;
  /** The `whsec_` secret, sealed with the master key (purpose `webhook-secret:ORG:ID`). */
  secret_sealed: string;
  /** 1 or 0. */
  enabled: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  org_id: string;
  webhook_id: string;
  event_id: string;
  /** pending (not tried yet), failed (tried, a retry is due at next_attempt_at), succeeded, dead (retries spent). */
  status: string;
  attempts: number;
  /** When the next attempt is due (also a short lease while one is in flight); null once finished. */
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_response_status: number | null;
  /** At most 500 characters. */
  last_error: string | null;
  /** The first 256 characters of the last response body, never more. */
  last_response_excerpt: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookCursorsTable {
  name: string;
  event_id: string;
  updated_at: string;
}

export interface OutboundEventsTable {
  id: string;
  org_id: string;
  /** A type of notifications/catalogue.ts, e.g. `rollout.halted`. */
  type: string;
  /** The event's data (JSON text), as the catalogue's schema for the type describes it. */
  data: string;
  occurred_at: string;
}

/** One person's notice of one outbound event (0021, notifications/notifier.ts): inbox and e-mail state. */
export interface NotificationsTable {
  id: string;
  person_id: string;
  org_id: string;
  event_id: string;
  type: string;
  title: string;
  body: string;
  link: string | null;
  inbox: number;
  created_at: string;
  read_at: string | null;
  email_status: string;
  email_attempts: number;
  email_next_at: string | null;
  email_sent_at: string | null;
  email_error: string | null;
}

/** A person's choice for one event type; without a row both channels are on (catalogue audience). */
export interface NotificationPreferencesTable {
  person_id: string;
  type: string;
  inbox: number;
  email: number;
  updated_at: string;
}

export interface NotificationSettingsTable {
  person_id: string;
  /** `en` or `de`: the language of the person's notices. */
  language: string;
  updated_at: string;
}

/** Outbound events the notifier has fanned out (it re-scans a recent window and skips these). */
export interface NotifiedEventsTable {
  event_id: string;
  notified_at: string;
}

/** Keys of the time-based events already recorded (a report clock's stage, a role's expiry). */
export interface NotificationDedupeTable {
  key: string;
  org_id: string;
  created_at: string;
}

/** A serving node and its heartbeat (0028, cluster/nodes.ts). Times: ms since the epoch. */
export interface NodesTable {
  id: string;
  instance: string;
  started_at: number | string;
  last_seen: number | string;
  address: string | null;
  version: string;
}

/** Who runs a periodic job now, and when it last ended (0028, cluster/leases.ts). */
export interface LeasesTable {
  name: string;
  holder: string;
  token: number | string;
  acquired_at: number | string;
  expires_at: number | string;
  last_finished_at: number | string | null;
}

import type { TokenService } from './access/tokens.js';
import type { AuthorizationService } from './apps/authorization.js';
import type { AppRegistry } from './apps/registry.js';
import type { AppTokenService } from './apps/tokens.js';
import type { AuditLog } from './audit/service.js';
import type { Bus } from './bus/bus.js';
import type { Clock } from './clock.js';
import type { JobScheduler } from './cluster/leases.js';
import type { CommandService } from './commands/service.js';
import type { DeploymentFacts } from './continuity/deployment.js';
import type { EndpointService } from './continuity/endpoints.js';
import type { EscrowSchedule } from './escrow/service.js';
import type { EventService } from './events/service.js';
import type { OrgSigningKeys } from './evidence/org-key.js';
import type { BrandService } from './fleet/brands.js';
import type { DeviceService } from './fleet/devices.js';
import type { OrganizationService } from './fleet/organizations.js';
import type { ProductService } from './fleet/products.js';
import type { ProvisioningService } from './fleet/provisioning.js';
import type { DeviceCredentialService } from './gateway/credentials.js';
import type { Metrics } from './http/metrics.js';
import type { Mailer } from './mail/mailer.js';
import type { InboxService } from './notifications/inbox.js';
import type { Notifier } from './notifications/notifier.js';
import type { Outbox } from './notifications/outbox.js';
import type { OwnerNotices } from './owner-notices/fan-out.js';
import type { ClaimService } from './owners/claims.js';
import type { OwnerLocalModeService } from './owners/local-mode.js';
import type { OwnerPasskeyService } from './owners/passkeys.js';
import type { SharingService } from './owners/sharing.js';
import type { OwnerSignInService } from './owners/sign-in.js';
import type { TransferService } from './owners/transfer.js';
import type { FactorService } from './people/factors.js';
import type { InvitationService } from './people/invitations.js';
import type { PasskeyService } from './people/passkeys.js';
import type { SignInPolicyService } from './people/policy.js';
import type { PeopleService } from './people/service.js';
import type { SessionService } from './people/sessions.js';
import type { PasswordSignInService } from './people/sign-in.js';
import type { SsoConfigService } from './people/sso-config.js';
import type { SsoSignInService } from './people/sso-sign-in.js';
import type { DeviceCaService } from './pki/device-ca.js';
import type { DataRightsService } from './rights/service.js';
import type { SecretBox } from './secrets/master-key.js';
import type { Store } from './store/db.js';
import type { TelemetryService } from './telemetry/service.js';
import type { TwinService } from './twin/service.js';
import type { ArtifactStore } from './updates/artifact-store.js';
import type { ReleaseService } from './updates/releases.js';
import type { UpdateRepository } from './updates/repository.js';
import type { RolloutEngine } from './updates/rollout-engine.js';
import type { RolloutService } from './updates/rollouts.js';
import type { DisclosureThread } from './vulnerabilities/disclosure-thread.js';
import type { DisclosureService } from './vulnerabilities/disclosures.js';
import type { ExposureService } from './vulnerabilities/exposure.js';
import type { Matcher } from './vulnerabilities/matching.js';
import type { AdvisoryService } from './vulnerabilities/publication/advisories.js';
import type { RemediationService } from './vulnerabilities/remediation.js';
import type { ReportCaseService } from './vulnerabilities/report-cases.js';
import type { SbomService } from './vulnerabilities/sbom/service.js';
import type { VulnerabilityService } from './vulnerabilities/service.js';
import type { TriageService } from './vulnerabilities/triage.js';
import type { WebhookDispatcher } from './webhooks/dispatcher.js';
import type { WebhookService } from './webhooks/service.js';

/** Everything the composition root builds; routes and commands ask for the part they use. */
export interface Services {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  /** Events every node of the installation hears (bus/, decision 0028). */
  bus: Bus;
  tokens: TokenService;
  /** People, their roles, factors, sessions and invitations (issue 16). */
  people: PeopleService;
  sessions: SessionService;
  factors: FactorService;
  invitations: InvitationService;
  signInPolicies: SignInPolicyService;
  passwordSignIn: PasswordSignInService;
  /** Passkeys (WebAuthn): adding them and signing in with them. */
  passkeys: PasskeyService;
  /** Single sign-on per organisation with OpenID Connect (issue 16 §3). */
  ssoConfig: SsoConfigService;
  ssoSignIn: SsoSignInService;
  /** Device owners' accounts, e-mail link sign-in and sessions (issue 18 §1). */
  ownerSignIn: OwnerSignInService;
  /** Device owners' passkeys and passkey sign-in (issue 18 §1). */
  ownerPasskeys: OwnerPasskeyService;
  /** Claim codes, claims and releases of devices by their owners (issue 18 §1). */
  claims: ClaimService;
  /** Owners' notices: fan-out of owner events and their e-mail (owner-notices/). */
  ownerNotices: OwnerNotices;
  /** An owner's export and deletion of their data; product retention (issue 18 §6). */
  dataRights: DataRightsService;
  /** Household members' shares of a device, transfer on resale, owner local mode (issue 18 §1, §7). */
  sharing: SharingService;
  transfers: TransferService;
  ownerLocalMode: OwnerLocalModeService;
  /** Apps (OAuth clients) the maker registers for the app API (issue 18 §2). */
  apps: AppRegistry;
  /** The authorization endpoint's side: requests, consent, grants and codes. */
  authorization: AuthorizationService;
  /** The token endpoint's side: tokens, rotation, revocation, and access token checks. */
  appTokens: AppTokenService;
  /** Events for the outside world, recorded in the change's transaction (issue 18). */
  outbox: Outbox;
  /** Each organisation's evidence signing key (issue 21 §1). */
  orgKeys: OrgSigningKeys;
  /** Turns outbox events into each person's notices and e-mails (notifications/notifier.ts). */
  notifier: Notifier;
  /** A person's own notices and notification preferences (GET /v1/me/notifications). */
  inbox: InboxService;
  /** E-mail over SMTP (config `mail`); `configured` is false when no SMTP server is set. */
  mailer: Mailer;
  /** Whether webhooks may target loopback and private addresses (config `webhooks.allowPrivateTargets`). */
  webhooksAllowPrivateTargets: boolean;
  /** Webhooks of an organisation (Standard Webhooks), their deliveries, tests and replays (issue 18 §5). */
  webhooks: WebhookService;
  /** Turns outbox events into webhook deliveries and sends them; `serve` runs its tick. */
  webhookDispatcher: WebhookDispatcher;
  /** Seals secrets kept in the database (device CA keys, TOTP secrets). */
  secrets: SecretBox;
  orgs: OrganizationService;
  brands: BrandService;
  products: ProductService;
  devices: DeviceService;
  deviceCa: DeviceCaService;
  credentials: DeviceCredentialService;
  provisioning: ProvisioningService;
  telemetry: TelemetryService;
  events: EventService;
  twins: TwinService;
  commands: CommandService;
  artifacts: ArtifactStore;
  /** Largest artifact accepted, in bytes. */
  maxArtifactBytes: number;
  updateRepository: UpdateRepository;
  /** Signed endpoint records: handover to a successor, sunset into local mode. */
  endpoints: EndpointService;
  releases: ReleaseService;
  rollouts: RolloutService;
  rolloutEngine: RolloutEngine;
  matcher: Matcher;
  sboms: SbomService;
  vulnerabilities: VulnerabilityService;
  exposure: ExposureService;
  triage: TriageService;
  reportCases: ReportCaseService;
  remediation: RemediationService;
  advisories: AdvisoryService;
  disclosures: DisclosureService;
  /** The researcher's tracking link and the message thread of each report (issue 16 §6). */
  disclosureThread: DisclosureThread;
  /** Vulnerability feed URLs for `vulns sync` (config `vulnerabilities.feeds`). */
  vulnerabilityFeeds: string[];
  /** Where public pages say the service is reached (config `http.publicUrl`). */
  publicUrl: string | null;
  /** The organisation served at /.well-known/ when several exist (config `publication.organization`). */
  publicOrganization: string | null;
  /** The data dir holding the deposit key that signs evidence packs (decision 0013); null when the app has none. */
  dataDir: string | null;
  /** The deposit schedule `serve` runs (config `escrow`); null where no schedule was given (CLI, tests). */
  escrowSchedule: EscrowSchedule | null;
  /** How `serve` runs (TLS, custom config keys) for the takeover readiness report; null in the CLI and tests. */
  deployment: DeploymentFacts | null;
  metrics: Metrics;
  /** Periodic jobs that run on one node of the cluster at a time (cluster/leases.ts, decision 0029). */
  jobs: JobScheduler;
}

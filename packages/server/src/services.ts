import type { TokenService } from './access/tokens.js';
import type { AuditLog } from './audit/service.js';
import type { Clock } from './clock.js';
import type { CommandService } from './commands/service.js';
import type { EndpointService } from './continuity/endpoints.js';
import type { EventService } from './events/service.js';
import type { BrandService } from './fleet/brands.js';
import type { DeviceService } from './fleet/devices.js';
import type { OrganizationService } from './fleet/organizations.js';
import type { ProductService } from './fleet/products.js';
import type { ProvisioningService } from './fleet/provisioning.js';
import type { DeviceCredentialService } from './gateway/credentials.js';
import type { Metrics } from './http/metrics.js';
import type { DeviceCaService } from './pki/device-ca.js';
import type { Store } from './store/db.js';
import type { TelemetryService } from './telemetry/service.js';
import type { TwinService } from './twin/service.js';
import type { ArtifactStore } from './updates/artifact-store.js';
import type { ReleaseService } from './updates/releases.js';
import type { UpdateRepository } from './updates/repository.js';
import type { RolloutEngine } from './updates/rollout-engine.js';
import type { RolloutService } from './updates/rollouts.js';
import type { DisclosureService } from './vulnerabilities/disclosures.js';
import type { ExposureService } from './vulnerabilities/exposure.js';
import type { Matcher } from './vulnerabilities/matching.js';
import type { AdvisoryService } from './vulnerabilities/publication/advisories.js';
import type { RemediationService } from './vulnerabilities/remediation.js';
import type { ReportCaseService } from './vulnerabilities/report-cases.js';
import type { SbomService } from './vulnerabilities/sbom/service.js';
import type { VulnerabilityService } from './vulnerabilities/service.js';
import type { TriageService } from './vulnerabilities/triage.js';

/** Everything the composition root builds; routes and commands ask for the part they use. */
export interface Services {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  tokens: TokenService;
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
  /** Vulnerability feed URLs for `vulns sync` (config `vulnerabilities.feeds`). */
  vulnerabilityFeeds: string[];
  /** Where public pages say the service is reached (config `http.publicUrl`). */
  publicUrl: string | null;
  /** The organisation served at /.well-known/ when several exist (config `publication.organization`). */
  publicOrganization: string | null;
  metrics: Metrics;
}

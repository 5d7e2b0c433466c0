import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Principal } from './access/roles.js';
import { TokenService } from './access/tokens.js';
import { AuditLog } from './audit/service.js';
import { type Clock, systemClock } from './clock.js';
import { CommandService } from './commands/service.js';
import { EndpointService } from './continuity/endpoints.js';
import { EventService } from './events/service.js';
import { BrandService } from './fleet/brands.js';
import { DeviceService } from './fleet/devices.js';
import { OrganizationService } from './fleet/organizations.js';
import { ProductService } from './fleet/products.js';
import { ProvisioningService } from './fleet/provisioning.js';
import { DeviceCredentialService } from './gateway/credentials.js';
import { type GatewayLimits, MqttGateway } from './gateway/mqtt.js';
import { Metrics } from './http/metrics.js';
import { buildHttp } from './http/server.js';
import { DeviceCaService } from './pki/device-ca.js';
import type { SecretBox } from './secrets/master-key.js';
import type { Services } from './services.js';
import { openStore, type Store } from './store/db.js';
import { assertSchemaKnown, type MigrationReport, migrateToLatest } from './store/migrate.js';
import { TelemetryService } from './telemetry/service.js';
import { TwinService } from './twin/service.js';
import { type ArtifactStore, FilesystemArtifactStore } from './updates/artifact-store.js';
import { ReleaseService } from './updates/releases.js';
import { UpdateRepository } from './updates/repository.js';
import { RolloutEngine } from './updates/rollout-engine.js';
import { RolloutService } from './updates/rollouts.js';
import { VERSION } from './version.js';
import { DisclosureService } from './vulnerabilities/disclosures.js';
import { ExposureService } from './vulnerabilities/exposure.js';
import { Matcher } from './vulnerabilities/matching.js';
import { AdvisoryService } from './vulnerabilities/publication/advisories.js';
import { RemediationService } from './vulnerabilities/remediation.js';
import { ReportCaseService } from './vulnerabilities/report-cases.js';
import { SbomService } from './vulnerabilities/sbom/service.js';
import { VulnerabilityService } from './vulnerabilities/service.js';
import { TriageService } from './vulnerabilities/triage.js';

export interface AppOptions {
  /** SQLite file path or postgres:// URL. */
  database: string;
  /** Seals the secrets kept in the database (device CA keys): `loadMasterKey(config.secrets.masterKeyFile)`. */
  secrets: SecretBox;
  /** Where firmware images and SBOMs live: a directory (`config.updates.artifactDir`) or a store. */
  artifacts: string | ArtifactStore;
  maxArtifactBytes?: number;
  clock?: Clock;
  logger?: FastifyBaseLogger | boolean;
  https?: { key: string; cert: string } | null;
  bodyLimit?: number;
  /** Run migrations (default); when false, only refuse a schema newer than this build. */
  migrate?: boolean;
  /** For the in-process CLI: requests carrying the app's nonce act as this principal. */
  localPrincipal?: Principal;
  /** This node's name in presence records (default: the host name). */
  nodeId?: string;
  /** Device gateway limits beyond the defaults (config `mqtt.connectsPerSecond`, …). */
  gatewayLimits?: Partial<GatewayLimits>;
  /** Compile route schemas on first use: faster start for one-shot CLI commands. */
  lazySchemas?: boolean;
  /** Vulnerability feed URLs that `vulns sync` fetches (config `vulnerabilities.feeds`). */
  vulnerabilityFeeds?: string[];
  /** The address public pages and CSAF documents name (config `http.publicUrl`). */
  publicUrl?: string | null;
  /** The organisation (slug) served at /.well-known/ (config `publication.organization`). */
  publicOrganization?: string;
}

export interface App {
  services: Services;
  http: FastifyInstance;
  /** The device gateway, built but not listening: `serve` (or a test) starts it. */
  gateway: MqttGateway;
  migration: MigrationReport | null;
  /** Present when `localPrincipal` was given: the header value that selects it (in-process only). */
  localNonce: string | null;
  close(): Promise<void>;
}

/** Builds every service once and wires them together. */
export function createServices(
  store: Store,
  clock: Clock,
  secrets: SecretBox,
  artifacts: ArtifactStore,
  maxArtifactBytes = 2 * 1024 ** 3,
  extra: { vulnerabilityFeeds?: string[]; publicUrl?: string | null; publicOrganization?: string } = {},
): Services {
  const audit = new AuditLog({ clock, dialect: store.dialect });
  const deps = { db: store.db, clock, audit };
  const deviceCa = new DeviceCaService({ ...deps, secrets });
  const credentials = new DeviceCredentialService({ ...deps, ca: deviceCa });
  const products = new ProductService(deps);
  const releases = new ReleaseService({ ...deps, products });
  const rollouts = new RolloutService({ ...deps, releases });
  const rolloutEngine = new RolloutEngine(deps);
  const matcher = new Matcher(clock, store.dialect);
  const reportCases = new ReportCaseService(deps);
  const exposure = new ExposureService(deps);
  reportCases.bindExposure(exposure);
  const triage = new TriageService({ ...deps, products, releases, exposure, reportCases });
  const updateRepository = new UpdateRepository({ ...deps, secrets });
  return {
    store,
    clock,
    audit,
    tokens: new TokenService(deps),
    orgs: new OrganizationService(deps),
    brands: new BrandService(deps),
    products,
    devices: new DeviceService(deps),
    deviceCa,
    credentials,
    provisioning: new ProvisioningService({ ...deps, credentials }),
    telemetry: new TelemetryService(deps),
    events: new EventService(deps),
    twins: new TwinService(deps),
    commands: new CommandService(deps),
    artifacts,
    maxArtifactBytes,
    updateRepository,
    endpoints: new EndpointService({ ...deps, repository: updateRepository }),
    releases,
    rollouts,
    rolloutEngine,
    matcher,
    sboms: new SbomService({ ...deps, releases, artifacts, matcher, reportCases }),
    vulnerabilities: new VulnerabilityService({ ...deps, matcher, reportCases }),
    exposure,
    triage,
    reportCases,
    remediation: new RemediationService({
      ...deps,
      exposure,
      releases,
      rollouts,
      reportCases,
      rolloutEngine,
    }),
    advisories: new AdvisoryService({ ...deps, exposure, publicUrl: extra.publicUrl ?? null }),
    disclosures: new DisclosureService(deps),
    vulnerabilityFeeds: extra.vulnerabilityFeeds ?? [],
    publicUrl: extra.publicUrl ?? null,
    publicOrganization: extra.publicOrganization ?? null,
    metrics: new Metrics(),
  };
}

/** The composition root: opens the store, migrates, builds services and the HTTP API. No listen(). */
export async function createApp(options: AppOptions): Promise<App> {
  const store = await openStore(options.database);
  let migration: MigrationReport | null = null;
  try {
    if (options.migrate === false) await assertSchemaKnown(store.db);
    else migration = await migrateToLatest(store.db);
  } catch (error) {
    await store.close();
    throw error;
  }
  const artifacts =
    typeof options.artifacts === 'string'
      ? new FilesystemArtifactStore(options.artifacts)
      : options.artifacts;
  const services = createServices(
    store,
    options.clock ?? systemClock,
    options.secrets,
    artifacts,
    options.maxArtifactBytes,
    {
      vulnerabilityFeeds: options.vulnerabilityFeeds ?? [],
      publicUrl: options.publicUrl ?? null,
      ...(options.publicOrganization ? { publicOrganization: options.publicOrganization } : {}),
    },
  );
  const localNonce = options.localPrincipal ? randomBytes(32).toString('hex') : null;
  const http = await buildHttp(services, {
    logger: options.logger ?? false,
    lazySchemas: options.lazySchemas ?? false,
    version: VERSION,
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.https ? { https: options.https } : {}),
    ...(options.localPrincipal && localNonce
      ? { local: { nonce: localNonce, principal: options.localPrincipal } }
      : {}),
  });
  await http.ready();
  const gateway = new MqttGateway(
    {
      nodeId: options.nodeId ?? hostname(),
      db: store.db,
      clock: services.clock,
      credentials: services.credentials,
      tokens: services.tokens,
      telemetry: services.telemetry,
      events: services.events,
      twins: services.twins,
      commands: services.commands,
      rollouts: services.rolloutEngine,
      endpoints: services.endpoints,
      metrics: services.metrics,
      logger: http.log,
    },
    options.gatewayLimits ?? {},
  );
  return {
    services,
    http,
    gateway,
    migration,
    localNonce,
    close: async () => {
      await gateway.close();
      await http.close();
      await store.close();
    },
  };
}

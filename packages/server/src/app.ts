import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Principal } from './access/roles.js';
import { TokenService } from './access/tokens.js';
import { AuthorizationService } from './apps/authorization.js';
import { AppRegistry } from './apps/registry.js';
import { AppTokenService } from './apps/tokens.js';
import { type Bus, type BusSettings, busObserver, InProcessBus, openBus } from './bus/index.js';
import { type Clock, systemClock } from './clock.js';
import { Cluster } from './cluster/cluster.js';
import { JobLeases, type JobScheduler } from './cluster/leases.js';
import { NodeRegistry, type NodeTimings } from './cluster/nodes.js';
import { CommandService } from './commands/service.js';
import type { DeploymentFacts } from './continuity/deployment.js';
import { EndpointService } from './continuity/endpoints.js';
import type { EscrowSchedule } from './escrow/service.js';
import { EventService } from './events/service.js';
import { OrgSigningKeys } from './evidence/org-key.js';
import { BrandService } from './fleet/brands.js';
import { DeviceService } from './fleet/devices.js';
import { OrganizationService } from './fleet/organizations.js';
import { ProductService } from './fleet/products.js';
import { ProvisioningService } from './fleet/provisioning.js';
import { DeviceCredentialService } from './gateway/credentials.js';
import { type GatewayLimits, MqttGateway } from './gateway/mqtt.js';
import { Metrics } from './http/metrics.js';
import { buildHttp } from './http/server.js';
import { type MailSettings, SmtpMailer } from './mail/mailer.js';
import { InboxService } from './notifications/inbox.js';
import { Notifier } from './notifications/notifier.js';
import { Outbox } from './notifications/outbox.js';
import { OwnerNotices } from './owner-notices/fan-out.js';
import { Attempts } from './owners/attempts.js';
import { ClaimService } from './owners/claims.js';
import { OwnerLocalModeService } from './owners/local-mode.js';
import { OwnerPasskeyService } from './owners/passkeys.js';
import { SharingService } from './owners/sharing.js';
import { OwnerSignInService } from './owners/sign-in.js';
import { TransferService } from './owners/transfer.js';
import { ChallengeStore } from './people/challenges.js';
import { FactorService } from './people/factors.js';
import { InvitationService } from './people/invitations.js';
import { PasskeyService } from './people/passkeys.js';
import { SignInPolicyService } from './people/policy.js';
import { PeopleService } from './people/service.js';
import { type SessionLimits, SessionService } from './people/sessions.js';
import { PasswordSignInService } from './people/sign-in.js';
import { SsoConfigService } from './people/sso-config.js';
import { SsoSignInService } from './people/sso-sign-in.js';
import { DeviceCaService } from './pki/device-ca.js';
import { ProxyProtocol } from './proxy/protocol.js';
import { DataRightsService } from './rights/service.js';
import type { SecretBox } from './secrets/master-key.js';
import type { Services } from './services.js';
import {
  AppliedChanges,
  applyChange,
  ChangeListener,
  ChangeRecordingAuditLog,
} from './store/change-notifier.js';
import { isPostgresUrl, openStore, type Store } from './store/db.js';
import { assertSchemaKnown, type MigrationReport, migrateToLatest } from './store/migrate.js';
import { type PostgresTimeouts, serverTimeouts } from './store/pg-pool.js';
import { TelemetryService } from './telemetry/service.js';
import { TwinService } from './twin/service.js';
import type { ArtifactStore } from './updates/artifact-store.js';
import { type ArtifactStoreChoice, openArtifactStore } from './updates/artifact-stores.js';
import { ReleaseService } from './updates/releases.js';
import { UpdateRepository } from './updates/repository.js';
import { RolloutEngine } from './updates/rollout-engine.js';
import { RolloutService } from './updates/rollouts.js';
import { VERSION } from './version.js';
import { DisclosureThread } from './vulnerabilities/disclosure-thread.js';
import { DisclosureService } from './vulnerabilities/disclosures.js';
import { ExposureService } from './vulnerabilities/exposure.js';
import { Matcher } from './vulnerabilities/matching.js';
import { AdvisoryService } from './vulnerabilities/publication/advisories.js';
import { RemediationService } from './vulnerabilities/remediation.js';
import { ReportCaseService } from './vulnerabilities/report-cases.js';
import { SbomService } from './vulnerabilities/sbom/service.js';
import { VulnerabilityService } from './vulnerabilities/service.js';
import { TriageService } from './vulnerabilities/triage.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { WebhookService } from './webhooks/service.js';

export interface AppOptions {
  /** SQLite file path or postgres:// URL. */
  database: string;
  /** PostgreSQL timeouts and connect backoff (store/pg-pool.ts `serverTimeouts` by default). */
  databaseTimeouts?: PostgresTimeouts;
  /** Seals the secrets kept in the database (device CA keys): `loadMasterKey(config.secrets.masterKeyFile)`. */
  secrets: SecretBox;
  /**
   * Where firmware images and SBOMs live: a directory (`config.updates.artifactDir`), a store, or
   * config `artifacts.store` with the directory (`auto`: PostgreSQL with PostgreSQL; decision 0030).
   */
  artifacts: string | ArtifactStore | ArtifactStoreChoice;
  maxArtifactBytes?: number;
  clock?: Clock;
  logger?: FastifyBaseLogger | boolean;
  https?: { key: string; cert: string } | null;
  bodyLimit?: number;
  /** Run migrations (default); when false, only refuse a schema newer than this build. */
  migrate?: boolean;
  /** For the in-process CLI: requests carrying the app's nonce act as this principal. */
  localPrincipal?: Principal;
  /** This node's name in presence records and `nodes` (default: the host name; `serve`: config `cluster.nodeId`). */
  nodeId?: string;
  /** Heartbeat and expiry of this node (config `cluster.*`; cluster/nodes.ts has the defaults). */
  cluster?: Partial<NodeTimings>;
  /** Device gateway limits beyond the defaults (config `mqtt.connectsPerSecond`, …). */
  gatewayLimits?: Partial<GatewayLimits>;
  /** Compile route schemas on first use (`serve` and the CLI start faster); eager by default, so a broken schema fails at build. */
  lazySchemas?: boolean;
  /** Vulnerability feed URLs that `vulns sync` fetches (config `vulnerabilities.feeds`). */
  vulnerabilityFeeds?: string[];
  /** The address public pages and CSAF documents name (config `http.publicUrl`). */
  publicUrl?: string | null;
  /** The organisation (slug) served at /.well-known/ (config `publication.organization`). */
  publicOrganization?: string;
  /** Browser session timeouts (config `sessions`). */
  sessionLimits?: SessionLimits;
  /** The data dir: its deposit key signs evidence packs (evidence/pack.ts); without it packs are refused. */
  dataDir?: string;
  /** The deposit schedule of `serve` (config `escrow`), shown by GET /v1/orgs/{org}/continuity. */
  escrowSchedule?: EscrowSchedule;
  /** How `serve` runs, for the takeover readiness report (continuity/deployment.ts). */
  deployment?: DeploymentFacts;
  /** E-mail over SMTP (config `mail`); without it nothing is e-mailed and notices say why. */
  mail?: MailSettings;
  /** Config `webhooks.allowPrivateTargets`: webhooks may target loopback and private addresses. */
  webhooksAllowPrivateTargets?: boolean;
  /** Config `proxy.trusted`: load balancers whose PROXY protocol header is read (decision 0031). */
  trustedProxies?: readonly string[];
  /** Config `bus` (issue 19): with a `url`, events reach the other nodes over NATS; else in-process. */
  bus?: BusSettings;
}

export interface App {
  services: Services;
  http: FastifyInstance;
  /** The device gateway, built but not listening: `serve` (or a test) starts it. */
  gateway: MqttGateway;
  migration: MigrationReport | null;
  /** Present when `localPrincipal` was given: the header value that selects it (in-process only). */
  localNonce: string | null;
  /** Hears changes other processes made through the database; `serve` starts it. */
  changes: ChangeListener;
  /** This node in the cluster: heartbeat, presence reaper (cluster/cluster.ts); `serve` starts it. */
  cluster: Cluster;
  close(): Promise<void>;
}

/** Builds every service once and wires them together. */
export function createServices(
  store: Store,
  clock: Clock,
  secrets: SecretBox,
  artifacts: ArtifactStore,
  maxArtifactBytes = 2 * 1024 ** 3,
  extra: {
    vulnerabilityFeeds?: string[];
    publicUrl?: string | null;
    publicOrganization?: string;
    sessionLimits?: SessionLimits;
    dataDir?: string;
    escrowSchedule?: EscrowSchedule;
    deployment?: DeploymentFacts;
    mail?: MailSettings;
    webhooksAllowPrivateTargets?: boolean;
    /** Lease-held periodic jobs; by default leases held by this process under the host name. */
    jobs?: JobScheduler;
    /** The bus between nodes (bus/); an in-process one by default. */
    bus?: Bus;
    metrics?: Metrics;
  } = {},
): Services {
  // Raises a change notification in the transaction of every change a running server acts on.
  const audit = new ChangeRecordingAuditLog({ clock, dialect: store.dialect });
  const metrics = extra.metrics ?? new Metrics();
  const bus = extra.bus ?? new InProcessBus(busObserver(metrics, () => null));
  // Changes that someone must hear of record their event in their own transaction (issue 18 §4).
  const outbox = new Outbox({ db: store.db, clock });
  const mailer = new SmtpMailer(extra.mail ?? {});
  const deps = { db: store.db, clock, audit, outbox, bus };
  const disclosures = new DisclosureService(deps);
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
  const people = new PeopleService(deps);
  const signInPolicies = new SignInPolicyService(deps);
  const factors = new FactorService({ ...deps, secrets });
  const orgs = new OrganizationService(deps);
  const ssoConfig = new SsoConfigService({ ...deps, secrets });
  const tokens = new TokenService({ ...deps, people });
  const webhookDispatcher = new WebhookDispatcher({
    ...deps,
    secrets,
    allowPrivateTargets: extra.webhooksAllowPrivateTargets ?? false,
  });
  const attempts = new Attempts(deps);
  // What owners must be told (issue 18 §3): fanned out by the notifier, mailed in its pass.
  const ownerNotices = new OwnerNotices({ db: store.db, clock, mailer, publicUrl: extra.publicUrl ?? null });
  const commands = new CommandService(deps);
  const endpoints = new EndpointService({ ...deps, repository: updateRepository });
  const apps = new AppRegistry(deps);
  return {
    store,
    clock,
    audit,
    bus,
    tokens,
    people,
    ownerSignIn: new OwnerSignInService({ ...deps, mailer, attempts, publicUrl: extra.publicUrl ?? null }),
    claims: new ClaimService({ ...deps, attempts }),
    ownerPasskeys: new OwnerPasskeyService({ ...deps, challenges: new ChallengeStore(deps) }),
    dataRights: new DataRightsService(deps),
    sharing: new SharingService({ ...deps, mailer, attempts, publicUrl: extra.publicUrl ?? null }),
    transfers: new TransferService({ ...deps, commands }),
    ownerLocalMode: new OwnerLocalModeService({
      ...deps,
      repository: updateRepository,
      endpoints,
      publicUrl: extra.publicUrl ?? null,
    }),
    apps,
    authorization: new AuthorizationService({ ...deps, apps }),
    appTokens: new AppTokenService({ ...deps, attempts }),
    sessions: new SessionService({
      ...deps,
      people,
      policies: signInPolicies,
      ...(extra.sessionLimits ? { limits: extra.sessionLimits } : {}),
    }),
    factors,
    invitations: new InvitationService({ ...deps, people }),
    signInPolicies,
    passwordSignIn: new PasswordSignInService({ ...deps, factors }),
    passkeys: new PasskeyService({ ...deps, challenges: new ChallengeStore(deps) }),
    ssoConfig,
    ssoSignIn: new SsoSignInService({ ...deps, people, ssoConfig, orgs }),
    outbox,
    orgKeys: new OrgSigningKeys({ ...deps, secrets }),
    mailer,
    notifier: new Notifier({
      db: store.db,
      clock,
      mailer,
      publicUrl: extra.publicUrl ?? null,
      owners: ownerNotices,
    }),
    ownerNotices,
    inbox: new InboxService(deps),
    webhooksAllowPrivateTargets: extra.webhooksAllowPrivateTargets ?? false,
    webhooks: new WebhookService({ ...deps, secrets, outbox, dispatcher: webhookDispatcher }),
    webhookDispatcher,
    secrets,
    orgs,
    brands: new BrandService(deps),
    products,
    devices: new DeviceService(deps),
    deviceCa,
    credentials,
    provisioning: new ProvisioningService({ ...deps, credentials }),
    telemetry: new TelemetryService({
      ...deps,
      observers: {
        commitFailed: (error) => {
          metrics.telemetryCommitFailures.inc();
          store.health.failed('query', error);
        },
        // SQLite has no connection to watch: a committed batch says the database is back.
        committed: () => store.health.succeeded(),
        duplicates: (n) => metrics.telemetryDuplicates.inc(n),
      },
    }),
    events: new EventService(deps),
    twins: new TwinService(deps),
    commands,
    artifacts,
    maxArtifactBytes,
    updateRepository,
    endpoints,
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
    disclosures,
    disclosureThread: new DisclosureThread({ ...deps, disclosures }),
    vulnerabilityFeeds: extra.vulnerabilityFeeds ?? [],
    publicUrl: extra.publicUrl ?? null,
    publicOrganization: extra.publicOrganization ?? null,
    dataDir: extra.dataDir ?? null,
    escrowSchedule: extra.escrowSchedule ?? null,
    deployment: extra.deployment ?? null,
    metrics,
    jobs:
      extra.jobs ??
      new JobLeases({
        db: store.db,
        dialect: store.dialect,
        holder: `${hostname()}#${randomBytes(6).toString('hex')}`,
      }),
  };
}

/**
 * Database failures become metrics and log lines: every failure is counted by kind; an outage is
 * logged at error level when it starts (then at most every 10 s while it lasts, with the count)
 * and at info level when the database answers again.
 */
function watchDatabase(store: Store, metrics: Metrics, log: () => FastifyBaseLogger): void {
  let suppressed = 0;
  let lastLog = 0;
  store.health.on('failure', (kind, error) => {
    metrics.databaseErrors.inc({ kind });
    if (Date.now() - lastLog < 10_000) {
      suppressed += 1;
      return;
    }
    lastLog = Date.now();
    log().error({ err: error, kind, suppressed }, 'database failure');
    suppressed = 0;
  });
  store.health.on('down', () => metrics.databaseUp.set(0));
  store.health.on('up', (downForMs) => {
    metrics.databaseUp.set(1);
    lastLog = 0;
    log().info({ downForMs, suppressed }, 'database answers again');
    suppressed = 0;
  });
}

/** The composition root: opens the store, migrates, builds services and the HTTP API. No listen(). */
export async function createApp(options: AppOptions): Promise<App> {
  const timeouts = options.databaseTimeouts ?? serverTimeouts;
  let migration: MigrationReport | null = null;
  if (options.migrate !== false && isPostgresUrl(options.database)) {
    // Migrations run on a pool of their own without the server's statement limits: building an
    // index over a large telemetry table may take longer than any request should (30 s), and a
    // start must not fail on that. The connect timeouts and backoff stay those of the server.
    const migrator = await openStore(options.database, {
      postgres: { ...timeouts, statementMs: 0, queryMs: 0 },
    });
    try {
      migration = await migrateToLatest(migrator.db);
    } finally {
      await migrator.close();
    }
  }
  const store = await openStore(options.database, { postgres: timeouts });
  try {
    if (options.migrate === false) await assertSchemaKnown(store.db);
    else if (!migration) migration = await migrateToLatest(store.db);
  } catch (error) {
    await store.close();
    throw error;
  }
  // This node in a cluster (issue 19): built before the services, whose jobs hold its leases.
  let log: FastifyBaseLogger | null = null;
  const nodeLogger = {
    info: (details: object, message: string) => log?.info(details, message),
    warn: (details: object, message: string) => log?.warn(details, message),
    error: (details: object, message: string) => log?.error(details, message),
  };
  const nodeId = options.nodeId ?? hostname();
  const node = new NodeRegistry(
    { db: store.db, dialect: store.dialect, logger: nodeLogger },
    { id: nodeId, version: VERSION },
    options.cluster ?? {},
  );
  const jobs = new JobLeases(
    { db: store.db, dialect: store.dialect, holder: node.holder, logger: nodeLogger },
    { ttlMs: node.timings.expiryMs, pollMs: node.timings.heartbeatMs },
  );
  // The bus (issue 19): a change heard from it and from the database is applied once (`applied`).
  const clock = options.clock ?? systemClock;
  const applied = new AppliedChanges(() => clock.now().getTime());
  const metrics = new Metrics();
  let busLog: FastifyBaseLogger | null = null;
  let bus: Bus;
  try {
    bus = await openBus(options.bus, {
      observer: busObserver(metrics, () => busLog),
      claim: (change) => applied.claim(change),
      nodeName: options.nodeId ?? hostname(),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  let artifacts: ArtifactStore;
  try {
    artifacts = await openArtifactStore(options.artifacts, store.db);
  } catch (error) {
    // The bus is open by now: a NATS client that reconnects forever would keep a failed start alive.
    await bus.close().catch(() => {});
    await store.close();
    throw error;
  }
  const services = createServices(store, clock, options.secrets, artifacts, options.maxArtifactBytes, {
    vulnerabilityFeeds: options.vulnerabilityFeeds ?? [],
    publicUrl: options.publicUrl ?? null,
    ...(options.publicOrganization ? { publicOrganization: options.publicOrganization } : {}),
    ...(options.sessionLimits ? { sessionLimits: options.sessionLimits } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    ...(options.escrowSchedule ? { escrowSchedule: options.escrowSchedule } : {}),
    ...(options.deployment ? { deployment: options.deployment } : {}),
    ...(options.mail ? { mail: options.mail } : {}),
    ...(options.webhooksAllowPrivateTargets ? { webhooksAllowPrivateTargets: true } : {}),
    jobs,
    bus,
    metrics,
  });
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
  log = http.log;
  // PROXY protocol (decision 0031): on the HTTPS port (API, console, device HTTP, MQTT over
  // WebSocket) and, through the gateway, on the MQTT ports; off without trusted proxies.
  const proxy = new ProxyProtocol({
    trusted: options.trustedProxies ?? [],
    onDropped: (reason, detail, peer) => {
      services.metrics.proxyHeadersRefused.inc({ reason });
      // A health check that connects and closes is 'closed': not worth a warning each time.
      http.log[reason === 'closed' ? 'debug' : 'warn'](
        { event: 'proxy.header-refused', reason, peer },
        detail,
      );
    },
  });
  proxy.guard(http.server);
  busLog = http.log;
  watchDatabase(store, services.metrics, () => http.log);
  const gateway = new MqttGateway(
    {
      nodeId,
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
      bus: services.bus,
      metrics: services.metrics,
      logger: http.log,
      ...(proxy.enabled ? { proxy } : {}),
    },
    options.gatewayLimits ?? {},
  );
  const audit = services.audit;
  if (!(audit instanceof ChangeRecordingAuditLog)) throw new Error('createServices builds the audit log');
  const changes = new ChangeListener({
    db: store.db,
    dialect: store.dialect,
    database: options.database,
    audit,
    clock: services.clock,
    apply: (change) => applyChange(services, change),
    onError: (error, context) => http.log.error({ err: error }, context),
    applied,
  });
  const cluster = new Cluster({ node, jobs, store, clock: services.clock, gateway, logger: nodeLogger });
  return {
    services,
    http,
    gateway,
    migration,
    localNonce,
    changes,
    cluster,
    close: async () => {
      await changes.close();
      services.mailer.close();
      proxy.close();
      await gateway.close();
      // After the gateway wrote its devices offline: then this node's row goes.
      await cluster.stop();
      await http.close();
      await artifacts.close?.();
      await services.bus.close();
      await store.close();
    },
  };
}

import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { pino } from 'pino';
import { bootstrapFirstAdmin } from '../access/bootstrap.js';
import { createApp } from '../app.js';
import { PUBLISHED_PATH, startCheckpointPublisher } from '../audit/publisher.js';
import { defaultNodeId } from '../cluster/nodes.js';
import { deploymentFacts } from '../continuity/deployment.js';
import { startEscrowSchedule } from '../escrow/service.js';
import { startMetricSnapshots } from '../metrics/snapshots.js';
import { startNotificationJobs } from '../notifications/jobs.js';
import { invitationUrl } from '../people/invitations.js';
import { startPeopleRetention } from '../people/jobs.js';
import { startProductRetention } from '../rights/retention.js';
import { loadMasterKey } from '../secrets/master-key.js';
import { startPartitionMaintenance } from '../telemetry/partition-job.js';
import { ensureTls } from '../tls/certs.js';
import { adoptLocalArtifacts } from '../updates/artifact-migrate.js';
import { artifactChoice } from '../updates/artifact-stores.js';
import { startUpdateJobs } from '../updates/jobs.js';
import { VERSION } from '../version.js';
import { startVulnerabilityJobs } from '../vulnerabilities/jobs.js';
import { startWebhookJobs } from '../webhooks/jobs.js';
import { configFrom, globalOptions } from './context.js';

export interface ServeFlags {
  httpPort?: string;
  httpHost?: string;
  mqttPort?: string;
  mqttPlainPort?: string;
  tls?: boolean;
  /** `--bus nats://host:4222` (config bus.url). */
  bus?: string;
}

/** Starts the server; resolves when it has stopped after SIGTERM or SIGINT. */
export async function serve(flags: ServeFlags, command: Command): Promise<void> {
  const options = globalOptions(command);
  const config = configFrom(options, {
    'http.port': flags.httpPort,
    'http.host': flags.httpHost,
    'mqtt.port': flags.mqttPort,
    'mqtt.plainPort': flags.mqttPlainPort,
    'http.tls': flags.tls === false ? false : undefined,
    'bus.url': flags.bus,
  });
  const logger = pino({ level: config.log.level, base: { service: 'brickless' } });
  // The device gateway always speaks TLS; the HTTP API may leave TLS to a proxy in front.
  const material = await ensureTls({
    dataDir: config.dataDir,
    certFile: config.tls.certFile,
    keyFile: config.tls.keyFile,
    hostnames: config.tls.hostnames,
  });
  const tls = config.http.tls ? material : null;
  const app = await createApp({
    database: config.database,
    secrets: loadMasterKey(config.secrets.masterKeyFile),
    artifacts: artifactChoice(config),
    dataDir: config.dataDir,
    maxArtifactBytes: config.updates.maxArtifactBytes,
    gatewayLimits: {
      connectsPerSecond: config.mqtt.connectsPerSecond,
      connectBurst: config.mqtt.connectBurst,
      unauthenticatedPerAddress: config.mqtt.unauthenticatedPerAddress,
      unauthenticatedTotal: config.mqtt.unauthenticatedTotal,
    },
    logger,
    // Each route's schemas compile on its first request: compiling all of them upfront was most of
    // a start (issue 15). Every request is still validated by the same schemas (http/validation.ts).
    lazySchemas: true,
    bodyLimit: config.http.bodyLimit,
    https: tls ? { key: tls.key, cert: tls.cert } : null,
    vulnerabilityFeeds: config.vulnerabilities.feeds,
    publicUrl: config.http.publicUrl ?? null,
    ...(config.publication.organization ? { publicOrganization: config.publication.organization } : {}),
    sessionLimits: config.sessions,
    escrowSchedule: {
      dir: config.escrow.dir ?? null,
      intervalHours: config.escrow.intervalHours,
      recipients: config.escrow.recipients.length,
    },
    deployment: deploymentFacts(config),
    mail: config.mail,
    webhooksAllowPrivateTargets: config.webhooks.allowPrivateTargets,
    // This node in a cluster (issue 19; docs/architecture.md, "Jobs and presence in a cluster").
    nodeId: config.cluster.nodeId ?? defaultNodeId(config.http.port),
    cluster: { heartbeatMs: config.cluster.heartbeatMs, expiryMs: config.cluster.expiryMs },
    trustedProxies: config.proxy.trusted,
    // Issue 19: the bus between nodes (in-process without bus.url).
    bus: config.bus,
  });
  // Issue 19 §4: with `auto` on PostgreSQL, images still in the data directory move in once.
  if (config.artifacts.store === 'auto')
    await adoptLocalArtifacts(
      app.services.store.db,
      config.updates.artifactDir,
      app.services.artifacts,
      logger,
    );
  try {
    await app.http.listen({ host: config.http.host, port: config.http.port });
  } catch (error) {
    await app.close();
    throw error;
  }
  // Registered (and beating) before the gateway takes devices: the others' reaper must never find
  // a device naming a node that has no row yet.
  try {
    const bound = app.http.server.address() as AddressInfo;
    await app.cluster.start({ address: `${config.http.host}:${bound.port}` });
  } catch (error) {
    await app.close();
    throw error;
  }
  let mqtt: { tlsPort?: number; plainPort?: number };
  try {
    mqtt = await app.gateway.start({
      tls: { key: material.key, cert: material.cert, port: config.mqtt.port, host: config.mqtt.host },
      ...(config.mqtt.plainPort !== undefined
        ? { plain: { port: config.mqtt.plainPort, host: config.mqtt.host } }
        : {}),
    });
  } catch (error) {
    await app.close();
    throw error;
  }
  app.gateway.attachWebSocket(app.http.server);
  // Changes the CLI (direct mode) or another node makes reach this server through the database.
  try {
    await app.changes.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  const stopTelemetryRetention = app.services.telemetry.startRetention(
    config.telemetry.retentionDays,
    3_600_000,
    (error) => logger.error({ err: error }, 'telemetry retention failed'),
    // On one node of a cluster at a time (a lease; decision 0029).
    app.services.jobs,
  );
  // Telemetry's day partitions a week ahead on PostgreSQL (issue 19 §5, docs/architecture.md).
  const stopPartitions = startPartitionMaintenance(
    { db: app.services.store.db, clock: app.services.clock },
    config.telemetry.retentionDays,
    (error) => logger.error({ err: error }, 'telemetry partition maintenance failed'),
    (result) => {
      if (result.created.length > 0 || result.moved > 0)
        logger.info({ created: result.created, moved: result.moved }, 'telemetry partitions');
    },
    undefined,
    app.services.jobs,
  );
  // Ended sessions, stale sign-in challenges and long-expired invitations (issue 16).
  const stopPeopleRetention = startPeopleRetention(app.services, (error) =>
    logger.error({ err: error }, 'sign-in retention failed'),
  );
  // Each product's own retention of telemetry, events and commands (issue 18 §6, docs/data-rights.md).
  const stopProductRetention = startProductRetention(app.services, (error) =>
    logger.error({ err: error }, 'product retention failed'),
  );
  // Patch and support figures per product and brand, once a day (issue 21 §4, docs/evidence.md).
  const stopMetricSnapshots = startMetricSnapshots(app.services, (error) =>
    logger.error({ err: error }, 'security metric snapshot failed'),
  );
  // Webhook deliveries from the outbox, with retries (issue 18 §5, docs/webhooks.md).
  const stopWebhooks = startWebhookJobs(app.services, (error) =>
    logger.error({ err: error }, 'webhook dispatch failed'),
  );
  // What makers must be told (issue 18 §4, docs/notifications.md): inbox and e-mail.
  const stopNotifications = startNotificationJobs(
    app.services,
    {
      info: (message) => logger.info(message),
      error: (error, job) => logger.error({ err: error, job }, 'notification job failed'),
    },
    { endOfSupportLeadDays: config.owners.endOfSupportLeadDays },
  );
  const stopRetention = () => {
    stopWebhooks();
    stopTelemetryRetention();
    stopPartitions();
    stopPeopleRetention();
    stopProductRetention();
    stopMetricSnapshots();
    stopNotifications();
  };
  const stopVulnerabilityJobs = startVulnerabilityJobs(
    app.services,
    (job, error) => logger.error({ err: error, job }, 'vulnerability job failed'),
    { syncMinutes: config.vulnerabilities.syncIntervalMinutes },
  );
  const stopUpdates = startUpdateJobs(app.services, (job, error) =>
    logger.error({ err: error, job }, 'update job failed'),
  );
  let stopEscrow: () => void;
  try {
    stopEscrow = startEscrowSchedule(
      app,
      config,
      (manifest) =>
        logger.info(
          {
            deposit: manifest.id,
            rows: manifest.stats.rows,
            newBytes: manifest.stats.newBytes,
            seconds: manifest.stats.seconds,
          },
          'escrow deposit written',
        ),
      (error) => logger.error({ err: error }, 'escrow deposit failed'),
    );
  } catch (error) {
    stopUpdates();
    stopVulnerabilityJobs();
    stopRetention();
    await app.close();
    throw error;
  }
  const checkpoints = startCheckpointPublisher(
    app.services,
    { dataDir: config.dataDir, intervalMinutes: config.audit.checkpointIntervalMinutes },
    (error) => logger.error({ err: error }, 'audit checkpoint failed'),
  );
  // After listen: a start that fails (port taken) must not use up the one-time token unseen.
  const firstToken = await bootstrapFirstAdmin(app.services);
  // No default account (issue 16 §2): while nobody has one, each start prints a fresh setup link.
  const setupToken = await app.services.invitations.setupLink();
  const { port } = app.http.server.address() as AddressInfo;
  const scheme = tls ? 'https' : 'http';
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? 'localhost' : config.http.host;
  const base = config.http.publicUrl ?? `${scheme}://${host}:${port}`;
  const lines = [
    `brickless ${VERSION} is running (database: ${app.services.store.dialect} via ${app.services.store.driver}, ${app.services.store.location})`,
    `  Console:  ${base}/  (sign in in a browser; the API docs are at ${base}/docs)`,
    `  API:      ${base}/v1`,
    `  OpenAPI:  ${base}/openapi.json`,
    `  Health:   ${base}/healthz  ${base}/readyz`,
    `  Metrics:  ${base}/metrics`,
    `  MQTT:     mqtts://${host}:${mqtt.tlsPort}  (devices: client id = user name = device id, password = device secret, or a client certificate)`,
    `  MQTT/WS:  ${tls ? 'wss' : 'ws'}://${host}:${port}/mqtt`,
    `  Devices:  ${base}/device/v1  (device HTTP API)`,
    `  Updates:  ${base}/device/v1/updates/metadata/  (TUF metadata; images under /device/v1/updates/targets/)`,
    `  Bus:      ${app.services.bus.description}`,
  ];
  if (mqtt.plainPort !== undefined)
    lines.push(`  MQTT:     mqtt://${host}:${mqtt.plainPort}  (plain, no TLS: for a closed LAN only)`);
  if (material.caFile)
    lines.push(`  TLS CA:   ${material.caFile}  (clients and devices trust this certificate)`);
  if (config.escrow.intervalHours > 0)
    lines.push(`  Escrow:   a deposit every ${config.escrow.intervalHours} h into ${config.escrow.dir}`);
  if (config.audit.checkpointIntervalMinutes > 0)
    lines.push(
      `  Audit:    ${base}${PUBLISHED_PATH}  (signed checkpoints, every ${config.audit.checkpointIntervalMinutes} min)`,
    );
  if (config.proxy.trusted.length > 0)
    lines.push(
      `  Proxies:  PROXY protocol required from ${config.proxy.trusted.join(', ')} (on the HTTP(S) and MQTT ports; docs/scale-out.md)`,
    );
  if (!tls) lines.push('  TLS is OFF (http.tls=false): put a TLS-terminating proxy in front of this server');
  if (firstToken) {
    lines.push(
      '',
      'First start: this is the platform admin token. It is shown this once and stored only as a hash:',
      `  ${firstToken}`,
      'Use it as "Authorization: Bearer <token>", or with the CLI: --server URL --token <token>.',
    );
  }
  if (setupToken) {
    lines.push(
      '',
      'No one has an account yet. Open this one-time link within 24 hours to create the first administrator',
      '(a new link is printed at every start until then):',
      `  ${invitationUrl(base, setupToken)}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping: finishing requests in flight');
      // A hung shutdown must not keep the process forever.
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      stopRetention();
      stopUpdates();
      stopEscrow();
      checkpoints.stop();
      stopVulnerabilityJobs();
      app
        .close()
        .then(() => {
          logger.info('stopped');
          resolve();
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'error while stopping');
          process.exitCode = 1;
          resolve();
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

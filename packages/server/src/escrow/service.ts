import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Transaction } from 'kysely';
import type { App } from '../app.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Config } from '../config.js';
import { oneLine } from '../notifications/texts.js';
import type { Database } from '../store/schema.js';
import { AuditHeadsBehind, deposit } from './deposit.js';
import type { DrillReport } from './drill/run.js';
import type { DepositManifest } from './manifest.js';
import { sha256Of } from './objects.js';

/** Every organisation: a deposit or drill holds the whole platform, so each one is told (docs/notifications.md). */
const everyOrg = async (trx: Transaction<Database>): Promise<string[]> =>
  (await trx.selectFrom('organizations').select('id').orderBy('id').execute()).map((o) => o.id);

/** The deposit schedule `serve` runs (config `escrow`), as the continuity overview shows it. */
export interface EscrowSchedule {
  dir: string | null;
  /** 0: no schedule (deposits by `brickless escrow deposit` only). */
  intervalHours: number;
  /** How many escrow agents' keys the secrets are sealed to. */
  recipients: number;
}

/**
 * A deposit made by a running (or in-process) app: the app supplies this build's OpenAPI
 * document and records the deposit in the platform audit chain.
 */
export async function depositFromApp(
  app: App,
  config: Config,
  out: string,
  recipients: string[],
  actor: string,
  onProgress?: (phase: string, done: number, total: number) => void,
): Promise<DepositManifest> {
  await app.http.ready();
  const manifest = await deposit(
    {
      database: config.database,
      artifacts: app.services.artifacts,
      dataDir: config.dataDir,
      masterKeyFile: config.secrets.masterKeyFile,
      config,
      openapi: app.http.swagger(),
    },
    { out, recipients, ...(onProgress ? { onProgress: (p) => onProgress(p.phase, p.done, p.total) } : {}) },
  ).catch(async (error: unknown) => {
    // Issue 18 §4: a failed deposit is told to every organisation (each one's auditors): a deposit
    // holds the whole platform, so every maker on it loses its recovery point alike.
    await app.services.store.db
      .transaction()
      .execute(async (trx) => {
        for (const orgId of await everyOrg(trx))
          await app.services.outbox.record(
            orgId,
            'escrow.failed',
            { what: 'deposit', reason: oneLine((error as Error)?.message ?? String(error), 500) },
            trx,
          );
      })
      .catch(() => {});
    // A log behind the previous deposit is reported where operators and auditors look, too.
    if (error instanceof AuditHeadsBehind)
      await app.services.store.db
        .transaction()
        .execute((trx) =>
          app.services.audit.append(trx, PLATFORM_CHAIN, {
            actor,
            action: 'escrow.deposit-refused',
            targetType: 'escrow-deposit',
            targetId: error.previous,
            details: { out, problems: error.problems },
          }),
        )
        .catch(() => {});
    throw error;
  });
  await app.services.store.db.transaction().execute((trx) =>
    app.services.audit.append(trx, PLATFORM_CHAIN, {
      actor,
      action: 'escrow.deposit',
      targetType: 'escrow-deposit',
      targetId: manifest.id,
      // What the console's continuity page and auditors read back (continuity/overview.ts): the
      // manifest's hash and signing key let a reader check the deposit on disk is this one.
      details: {
        out,
        recipients,
        rows: manifest.stats.rows,
        newBytes: manifest.stats.newBytes,
        sequence: manifest.sequence,
        createdAt: manifest.createdAt,
        artifacts: manifest.stats.artifacts,
        seconds: manifest.stats.seconds,
        manifestSha256: sha256Of(readFileSync(join(out, 'deposits', manifest.id, 'manifest.json'))),
        signedBy: manifest.signature?.key ?? null,
      },
    }),
  );
  return manifest;
}

/**
 * Records a takeover drill's result in the platform audit chain (`escrow.drill`), so the console
 * and auditors see when the takeover was last rehearsed and how it went (docs/continuity.md).
 */
export async function recordDrill(
  app: App,
  report: DrillReport,
  seconds: number,
  actor: string,
): Promise<void> {
  const failed = report.features.filter((f) => !f.ok).map((f) => f.name);
  await app.services.store.db.transaction().execute(async (trx) => {
    if (!report.ok) {
      const reason = [
        failed.length ? `features failed: ${failed.join(', ')}` : '',
        report.devicesLost ? `${report.devicesLost} devices lost` : '',
        report.rowsLost ? `${report.rowsLost} rows lost` : '',
      ]
        .filter(Boolean)
        .join('; ');
      for (const orgId of await everyOrg(trx))
        await app.services.outbox.record(
          orgId,
          'escrow.failed',
          { what: 'drill', reason: reason || 'the drill did not pass' },
          trx,
        );
    }
    await app.services.audit.append(trx, PLATFORM_CHAIN, {
      actor,
      action: 'escrow.drill',
      targetType: 'escrow-drill',
      targetId: `${report.source}-${report.target}`,
      details: {
        ok: report.ok,
        seconds,
        devices: report.devices,
        source: report.source,
        target: report.target,
        deposit: report.deposit,
        restoreSeconds: report.restoreSeconds,
        reconnect99Seconds: report.reconnect99Seconds,
        served99FromRestoreSeconds: report.served99FromRestoreSeconds,
        reconnected: report.reconnected,
        devicesLost: report.devicesLost,
        rowsLost: report.rowsLost,
        features: { passed: report.features.length - failed.length, total: report.features.length, failed },
      },
    });
  });
}

/**
 * The deposit schedule of `serve` (config `escrow.*`): a first attempt a minute after start (it
 * deposits unless a node of the cluster did within `intervalHours`), then every `intervalHours`.
 * Refuses a half configuration at start rather than failing silently later.
 */
export function startEscrowSchedule(
  app: App,
  config: Config,
  onDeposit: (manifest: DepositManifest) => void,
  onError: (error: unknown) => void,
): () => void {
  const { dir, recipients, intervalHours } = config.escrow;
  if (intervalHours === 0) return () => {};
  if (!dir || recipients.length === 0)
    throw new Error('config: escrow.intervalHours needs escrow.dir and at least one escrow.recipients key');
  const run = async () =>
    onDeposit(await depositFromApp(app, config, dir, recipients, 'system:escrow-schedule'));
  // One node of a cluster deposits at a time (a lease): two deposits of one database into one
  // escrow dir would race over its objects and manifests.
  return app.services.jobs.every('escrow-deposit', intervalHours * 3_600_000, run, onError, {
    firstAfterMs: 60_000,
  });
}

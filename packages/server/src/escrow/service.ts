import type { App } from '../app.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Config } from '../config.js';
import { every } from '../jobs.js';
import { deposit } from './deposit.js';
import type { DepositManifest } from './manifest.js';

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
  );
  await app.services.store.db.transaction().execute((trx) =>
    app.services.audit.append(trx, PLATFORM_CHAIN, {
      actor,
      action: 'escrow.deposit',
      targetType: 'escrow-deposit',
      targetId: manifest.id,
      details: { out, recipients, rows: manifest.stats.rows, newBytes: manifest.stats.newBytes },
    }),
  );
  return manifest;
}

/**
 * The deposit schedule of `serve` (config `escrow.*`): a first deposit a minute after start, then
 * every `intervalHours`. Refuses a half configuration at start rather than failing silently later.
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
  const first = setTimeout(() => run().catch(onError), 60_000);
  first.unref();
  const timer = every(intervalHours * 3_600_000, run, onError);
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}

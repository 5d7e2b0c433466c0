import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AuditLog, type ChainReport } from '../audit/service.js';
import { systemClock } from '../clock.js';
import { SecretBox } from '../secrets/master-key.js';
import { openStore, type Store } from '../store/db.js';
import { migrateTo, migrateToLatest } from '../store/migrate.js';
import { secretPurpose as webhookSecretPurpose } from '../webhooks/dispatcher.js';
import { BULK_LOAD_ROWS, dropSecondaryIndexes, recreateIndexes } from './bulk-indexes.js';
import { importTable } from './data-import.js';
import { unknownMigrations } from './inspect.js';
import { applyLedger, type LedgerReport } from './ledger-restore.js';
import { type LocatedDeposit, manifestHeads } from './manifest.js';
import { ObjectStore } from './objects.js';
import type { EscrowSecrets } from './secrets.js';
import { type StagedArtifacts, stageArtifacts, stageDatabase } from './staging.js';
import { ESCROW_TABLES, liveColumns } from './tables.js';

export interface RestoreTarget {
  database: string;
  secrets: EscrowSecrets;
  /** Where artifacts go; none for a trial restore that only checks the data. */
  artifactDir?: string;
  maxArtifactBytes?: number;
  onProgress?: (progress: { phase: 'data' | 'artifacts'; done: number; total: number }) => void;
}

export interface RestoreReport {
  rows: Record<string, number>;
  artifacts: number;
  chains: ChainReport[];
  /** Sealed secrets in the data that the deposited master key opened. */
  sealedSecretsOpened: number;
  /** TUF root versions in the data that match the deposited trust/ files. */
  trustRoots: number;
  migratedTo: string | null;
  /** The deletion ledger applied: deleted data stays deleted (docs/data-rights.md). */
  ledger: LedgerReport;
}

/**
 * Restores a deposit into an empty database of either dialect, atomically: everything goes into
 * a temporary place (staging.ts) first: the schema the deposit was made at, every table in
 * foreign-key order, the remaining migrations of this build. Then the checks: every row count,
 * every audit chain verifies and ends at the deposit's signed checkpoints, every sealed secret
 * opens with the deposited master key, every TUF root in the data is the deposited trust file,
 * every artifact hashes to its name. Only then does it move into place; on any failure the
 * target is left exactly as it was. Callers run inspectDeposit first (escrow/successor.ts).
 */
export async function restoreDeposit(located: LocatedDeposit, target: RestoreTarget): Promise<RestoreReport> {
  const { manifest } = located;
  const unknown = unknownMigrations(manifest);
  if (unknown.length > 0)
    throw new Error(
      `escrow: the deposit's schema is newer than this brickless (${unknown.join(', ')}); restore with brickless ${manifest.brickless} or later`,
    );
  const objects = new ObjectStore(located.escrowDir);
  const box = new SecretBox(Buffer.from(target.secrets.masterKey, 'base64'));
  const staged = await stageDatabase(target.database);
  let artifactStage: StagedArtifacts | null = null;
  try {
    const store = await openStore(staged.url);
    let report: Omit<RestoreReport, 'artifacts'>;
    try {
      report = await loadAndCheck(store, located, objects, box, target);
    } finally {
      await store.close();
    }
    let artifacts = 0;
    if (target.artifactDir) {
      artifactStage = await stageArtifacts(target.artifactDir);
      for (const artifact of manifest.artifacts) {
        const stored = await artifactStage.store.put(
          artifact.orgId,
          createReadStream(objects.path(artifact.sha256, 'blob')),
          target.maxArtifactBytes ?? Number.MAX_SAFE_INTEGER,
        );
        if (stored.sha256 !== artifact.sha256)
          throw new Error(`escrow: artifact ${artifact.sha256} is corrupt in the bundle`);
        artifacts++;
        target.onProgress?.({ phase: 'artifacts', done: artifacts, total: manifest.artifacts.length });
      }
      await artifactStage.commit();
    }
    await staged.commit();
    return { ...report, artifacts };
  } catch (error) {
    await artifactStage?.discard().catch(() => {});
    await staged.discard().catch(() => {});
    const message = (error as Error).message ?? String(error);
    throw new Error(
      `escrow: the restore of deposit ${manifest.id} failed and the target was left as it was: ${message.replace(/^escrow: /, '')}`,
    );
  }
}

async function loadAndCheck(
  store: Store,
  located: LocatedDeposit,
  objects: ObjectStore,
  box: SecretBox,
  target: RestoreTarget,
): Promise<Omit<RestoreReport, 'artifacts'>> {
  const { manifest } = located;
  await migrateTo(store.db, manifest.schema.current);
  const columns = await liveColumns(store.db);
  const total = manifest.stats.rows;
  let done = 0;
  const rows: Record<string, number> = {};
  await store.db.transaction().execute(async (trx) => {
    for (const table of ESCROW_TABLES) {
      const entry = manifest.tables[table.name];
      if (!entry) continue;
      const dropped =
        entry.rows >= BULK_LOAD_ROWS ? await dropSecondaryIndexes(trx, store.dialect, table.name) : [];
      rows[table.name] = await importTable(
        trx,
        table.name,
        entry,
        (columns.get(table.name) ?? []).map((c) => c.name),
        objects,
        (n) => {
          done += n;
          target.onProgress?.({ phase: 'data', done, total });
        },
      );
      await recreateIndexes(trx, dropped);
    }
  });
  const migrated = await migrateToLatest(store.db);
  // Data deleted after this deposit was made (an owner's erasure) must not come back with it.
  const latestColumns = await liveColumns(store.db);
  const ledger = await store.db.transaction().execute((trx) => applyLedger(trx, located, latestColumns));

  let sealedSecretsOpened = 0;
  const purpose = (kind: string, ...parts: string[]) => `${kind}:${parts.join(':')}`;
  for (const key of await store.db
    .selectFrom('tuf_online_keys')
    .select(['org_id', 'role', 'private_sealed'])
    .execute()) {
    box.open(key.private_sealed, purpose('tuf-online', key.org_id, key.role));
    sealedSecretsOpened++;
  }
  for (const ca of await store.db.selectFrom('device_cas').select(['org_id', 'key_sealed']).execute()) {
    box.open(ca.key_sealed, purpose('device-ca', ca.org_id));
    sealedSecretsOpened++;
  }
  // Webhook signing secrets: a successor keeps signing with the secrets the receivers hold.
  for (const hook of await store.db
    .selectFrom('webhooks')
    .select(['id', 'org_id', 'secret_sealed'])
    .execute()) {
    box.open(hook.secret_sealed, webhookSecretPurpose(hook.org_id, hook.id));
    sealedSecretsOpened++;
  }

  // Every chain verifies in full, and ends exactly at the head the deposit checkpointed.
  const audit = new AuditLog({ clock: systemClock, dialect: store.dialect });
  const chains: ChainReport[] = [];
  for (const chain of await audit.chains(store.db)) chains.push(await audit.verify(store.db, chain));
  const broken = chains.filter((c) => !c.ok);
  if (broken.length > 0)
    throw new Error(
      `escrow: audit chains broken in the deposit: ${broken.map((c) => `${c.chain} #${c.problems[0]?.seq} ${c.problems[0]?.problem}`).join('; ')}`,
    );
  const heads = manifestHeads(manifest);
  const restoredHeads = new Map(chains.map((c) => [c.chain, c.head]));
  const off = [...new Set([...heads.keys(), ...restoredHeads.keys()])].filter((chain) => {
    const a = heads.get(chain);
    const b = restoredHeads.get(chain);
    return !a || !b || a.seq !== b.seq || a.hash !== b.hash;
  });
  if (off.length > 0)
    throw new Error(
      `escrow: the restored audit chains do not end at the deposit's checkpoints: ${off.join(', ')}`,
    );

  // The trust roots in the data are the ones deposited as files (and signed in the manifest).
  const slugOf = new Map(manifest.organizations.map((o) => [o.id, o.slug]));
  const roots = await store.db
    .selectFrom('tuf_metadata')
    .select(['org_id', 'version', 'document'])
    .where('role', '=', 'root')
    .execute();
  for (const root of roots) {
    const name = `trust/${slugOf.get(root.org_id) ?? root.org_id}/${root.version}.root.json`;
    const path = join(located.depositDir, name);
    if (!manifest.files[name] || !existsSync(path) || readFileSync(path, 'utf8') !== root.document)
      throw new Error(`escrow: TUF root ${name} in the data is not the deposited trust file`);
  }
  return {
    rows,
    chains,
    sealedSecretsOpened,
    trustRoots: roots.length,
    migratedTo: migrated.current,
    ledger,
  };
}

/** Refuses, before anything is written, a data dir whose master key is another one. */
export function assertMasterKeyFits(secrets: EscrowSecrets, file: string): void {
  if (existsSync(file) && readFileSync(file, 'utf8').trim() !== secrets.masterKey.trim())
    throw new Error(
      `escrow: ${file} already holds a different master key; give the successor a new data dir`,
    );
}

/** Writes the deposited master key where the successor's config expects it; never over a different key. */
export async function installMasterKey(secrets: EscrowSecrets, file: string): Promise<void> {
  assertMasterKeyFits(secrets, file);
  if (existsSync(file)) return;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, `${secrets.masterKey.trim()}\n`, { mode: 0o600, flag: 'wx' });
}

/** Writes the old server's TLS files into `<dataDir>/tls` (only when the successor keeps the host names). */
export async function installTls(secrets: EscrowSecrets, dataDir: string): Promise<string[]> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const written: string[] = [];
  for (const [name, content] of Object.entries(secrets.tls)) {
    if (!/^[a-z]+\.(crt|key)$/.test(name)) continue;
    writeFileSync(join(dir, name), content, { mode: 0o600, flag: 'wx' });
    written.push(name);
  }
  return written;
}

import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sql } from 'kysely';
import { AuditLog, type ChainReport } from '../audit/service.js';
import { systemClock } from '../clock.js';
import { SecretBox } from '../secrets/master-key.js';
import { openStore } from '../store/db.js';
import { migrateTo, migrateToLatest } from '../store/migrate.js';
import { migrations } from '../store/migrations/index.js';
import type { ArtifactStore } from '../updates/artifact-store.js';
import { BULK_LOAD_ROWS, dropSecondaryIndexes, recreateIndexes } from './bulk-indexes.js';
import { importTable } from './data-import.js';
import type { LocatedDeposit } from './manifest.js';
import { ObjectStore } from './objects.js';
import type { EscrowSecrets } from './secrets.js';
import { ESCROW_TABLES, liveColumns } from './tables.js';

export interface RestoreTarget {
  database: string;
  secrets: EscrowSecrets;
  /** Where artifacts go; none for a trial restore that only checks the data. */
  artifacts?: ArtifactStore;
  maxArtifactBytes?: number;
  onProgress?: (progress: { phase: 'data' | 'artifacts'; done: number; total: number }) => void;
}

export interface RestoreReport {
  rows: Record<string, number>;
  artifacts: number;
  chains: ChainReport[];
  /** Sealed secrets in the data that the deposited master key opened. */
  sealedSecretsOpened: number;
  migratedTo: string | null;
}

/** Migrations a deposit has that this build does not know: it cannot restore them. */
export function unknownMigrations(located: LocatedDeposit): string[] {
  return located.manifest.schema.migrations.filter((m) => !(m in migrations));
}

/**
 * Restores a deposit into an empty database of either dialect: the schema the deposit was made
 * at, every table in foreign-key order in one transaction (a failure leaves the database as it
 * was), then the remaining migrations of this build. Afterwards every audit chain is verified
 * and every sealed secret is opened with the deposited master key: a restore that reports
 * success has data a server can run on.
 */
export async function restoreDeposit(located: LocatedDeposit, target: RestoreTarget): Promise<RestoreReport> {
  const { manifest } = located;
  const unknown = unknownMigrations(located);
  if (unknown.length > 0)
    throw new Error(
      `escrow: the deposit's schema is newer than this brickless (${unknown.join(', ')}); restore with brickless ${manifest.brickless} or later`,
    );
  const objects = new ObjectStore(located.escrowDir);
  const box = new SecretBox(Buffer.from(target.secrets.masterKey, 'base64'));
  const store = await openStore(target.database);
  try {
    const existing = await store.db.introspection.getTables();
    if (existing.length > 0) {
      const organizations = existing.some((t) => t.name === 'organizations')
        ? Number(
            (await sql<{ n: number }>`select count(*) as n from organizations`.execute(store.db)).rows[0]
              ?.n ?? 0,
          )
        : 0;
      throw new Error(
        `escrow: the target database ${store.location} is not empty (${existing.length} tables, ${organizations} organisations); restore into a new database`,
      );
    }
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

    const audit = new AuditLog({ clock: systemClock, dialect: store.dialect });
    const chains: ChainReport[] = [];
    for (const chain of await audit.chains(store.db)) {
      const report = await audit.verify(store.db, chain);
      chains.push(report);
    }

    let artifacts = 0;
    if (target.artifacts) {
      for (const artifact of manifest.artifacts) {
        if ((await target.artifacts.size(artifact.orgId, artifact.sha256)) === null) {
          const stored = await target.artifacts.put(
            artifact.orgId,
            createReadStream(objects.path(artifact.sha256, 'blob')),
            target.maxArtifactBytes ?? Number.MAX_SAFE_INTEGER,
          );
          if (stored.sha256 !== artifact.sha256)
            throw new Error(`escrow: artifact ${artifact.sha256} is corrupt in the bundle`);
        }
        artifacts++;
        target.onProgress?.({ phase: 'artifacts', done: artifacts, total: manifest.artifacts.length });
      }
    }
    return { rows, artifacts, chains, sealedSecretsOpened, migratedTo: migrated.current };
  } finally {
    await store.close();
  }
}

/** Writes the deposited master key where the successor's config expects it; never over a different key. */
export async function installMasterKey(secrets: EscrowSecrets, file: string): Promise<void> {
  if (existsSync(file)) {
    if (readFileSync(file, 'utf8').trim() !== secrets.masterKey.trim())
      throw new Error(
        `escrow: ${file} already holds a different master key; give the successor a new data dir`,
      );
    return;
  }
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

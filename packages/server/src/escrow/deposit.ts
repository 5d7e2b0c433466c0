import { existsSync, readFileSync, renameSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { appendCheckpoints, CHECKPOINT_LOG, currentHeads, signCheckpoints } from '../audit/checkpoints.js';
import { openStore } from '../store/db.js';
import type { ArtifactStore } from '../updates/artifact-store.js';
import { VERSION } from '../version.js';
import { exportTable, type TableEntry } from './data-export.js';
import {
  type ArtifactEntry,
  type DepositManifest,
  ESCROW_FORMAT,
  type FileEntry,
  type LocatedDeposit,
  latestDepositId,
  locateDeposit,
  manifestHeads,
  signedPart,
} from './manifest.js';
import { ObjectStore, sha256Of } from './objects.js';
import { restoreRunbook } from './runbook.js';
import { type EscrowSecrets, encryptSecrets } from './secrets.js';
import { type DepositKey, loadDepositKey, signDocument } from './signing.js';
import { ESCROW_TABLES, liveColumns } from './tables.js';

export interface DepositSource {
  /** The database to deposit (SQLite file or postgres:// URL); opened on its own connection. */
  database: string;
  artifacts: ArtifactStore;
  /** The server's data dir: its `tls/` files go into the sealed secrets. */
  dataDir: string;
  masterKeyFile: string;
  /** The effective configuration, sealed with the secrets. */
  config: unknown;
  /** The OpenAPI document of this build's API. */
  openapi: unknown;
}

export interface DepositProgress {
  phase: 'data' | 'artifacts' | 'files';
  done: number;
  total: number;
}

export interface DepositOptions {
  /** The escrow directory; created when missing. */
  out: string;
  recipients: string[];
  onProgress?: (progress: DepositProgress) => void;
  now?: () => Date;
}

/** The protocol documents a successor needs to keep devices talking: shipped in the repository's docs/. */
const DOCS_DIR = fileURLToPath(new URL('../../../../docs/', import.meta.url));
const PROTOCOL_DOCS = ['protocol.md', 'asyncapi.yaml', 'continuity.md', 'local-mode.md'];

/**
 * Writes one deposit into the escrow directory: every table as NDJSON chunks, the artifacts,
 * public trust material, the protocol documents and a runbook, and the secrets sealed to the
 * escrow agent. The data is read in one snapshot (PostgreSQL repeatable read; a SQLite read
 * transaction), so a deposit from a running server is consistent across tables. Objects already
 * in the escrow from an earlier deposit are not written again.
 */
export async function deposit(source: DepositSource, options: DepositOptions): Promise<DepositManifest> {
  const started = Date.now();
  const now = options.now?.() ?? new Date();
  if (options.recipients.length === 0)
    throw new Error('escrow: at least one --recipient (age public key) is needed');
  const masterKey = readFileSync(source.masterKeyFile, 'utf8').trim();
  const key = loadDepositKey(source.dataDir);
  const objects = new ObjectStore(options.out);
  const previousId = existsSync(options.out) ? latestDepositId(options.out) : null;
  const previous = previousId ? locateDeposit(options.out, previousId) : null;
  // A deposit continues the chain of this service's key only: an escrow directory that another
  // key signed belongs to another service (or was tampered with).
  const ownKeys = new Set([
    key.publicKey,
    ...key.rotations.flatMap((r) => [r.statement.from, r.statement.to]),
  ]);
  if (previous && !ownKeys.has(previous.manifest.signature?.key ?? ''))
    throw new Error(
      `escrow: the latest deposit in ${options.out} (${previous.manifest.id}) is not signed by this service's deposit key; use a new escrow directory`,
    );
  const sequence = (previous?.manifest.sequence ?? 0) + 1;
  const id = `${String(sequence).padStart(6, '0')}-${now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  const depositDir = join(options.out, 'deposits', id);
  await mkdir(depositDir, { recursive: true, mode: 0o700 });
  try {
    return await writeDeposit(source, options, {
      id,
      sequence,
      now,
      started,
      depositDir,
      objects,
      previous,
      masterKey,
      key,
    });
  } catch (error) {
    // A deposit cut short leaves no half directory behind (its objects stay: they are whole).
    await rm(depositDir, { recursive: true, force: true });
    throw error;
  }
}

interface DepositPlan {
  id: string;
  sequence: number;
  now: Date;
  started: number;
  depositDir: string;
  objects: ObjectStore;
  previous: LocatedDeposit | null;
  masterKey: string;
  key: DepositKey;
}

/** A deposit refused because the audit log is behind what the previous deposit recorded. */
export class AuditHeadsBehind extends Error {
  constructor(
    readonly previous: string,
    readonly problems: string[],
  ) {
    super(
      `escrow: deposit refused: the audit log is behind deposit ${previous}: ${problems.join('; ')} (entries were cut off, rolled back or deleted since)`,
    );
    this.name = 'AuditHeadsBehind';
  }
}

async function writeDeposit(
  source: DepositSource,
  options: DepositOptions,
  { id, sequence, now, started, depositDir, objects, previous, masterKey, key }: DepositPlan,
): Promise<DepositManifest> {
  const store = await openStore(source.database);
  const tables: Record<string, TableEntry> = {};
  let artifactRows: ArtifactEntry[] = [];
  let roots: { org_id: string; version: number; document: string }[] = [];
  let cas: { org_id: string; cert_pem: string }[] = [];
  let organizations: { id: string; slug: string; name: string }[] = [];
  let migrations: string[] = [];
  let heads = new Map<string, { seq: number; hash: string }>();
  let newBytes = 0;
  try {
    const columns = await liveColumns(store.db);
    const snapshot = store.db.transaction();
    await (store.dialect === 'postgres' ? snapshot.setIsolationLevel('repeatable read') : snapshot).execute(
      async (trx) => {
        migrations = (
          await sql<{ name: string }>`select name from kysely_migration order by name`.execute(trx)
        ).rows.map((r) => r.name);
        // The audit heads in this snapshot must extend the previous deposit's: each chain still
        // there, at least as long, and its entry at the old head still the same (decision 0013).
        heads = await currentHeads(trx);
        if (previous) {
          const problems: string[] = [];
          for (const [chain, old] of manifestHeads(previous.manifest)) {
            const now = heads.get(chain);
            if (!now) problems.push(`chain ${chain} (${old.seq} entries) is gone`);
            else if (now.seq < old.seq)
              problems.push(`chain ${chain} went back from ${old.seq} to ${now.seq} entries`);
            else if (old.seq > 0) {
              const entry = await trx
                .selectFrom('audit_entries')
                .select('hash')
                .where('chain', '=', chain)
                .where('seq', '=', old.seq)
                .executeTakeFirst();
              if (entry?.hash !== old.hash) problems.push(`chain ${chain} entry ${old.seq} was rewritten`);
            }
          }
          if (problems.length > 0) throw new AuditHeadsBehind(previous.manifest.id, problems);
        }
        const present = ESCROW_TABLES.filter((t) => columns.has(t.name));
        const counts = await Promise.all(
          present.map(async (t) =>
            Number(
              (await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t.name)}`.execute(trx))
                .rows[0]?.n ?? 0,
            ),
          ),
        );
        const total = counts.reduce((a, b) => a + b, 0);
        let done = 0;
        for (const table of present) {
          tables[table.name] = await exportTable(
            trx,
            store.dialect,
            table.name,
            columns.get(table.name) ?? [],
            objects,
            (rows, bytes) => {
              done += rows;
              newBytes += bytes;
              if (rows > 0) options.onProgress?.({ phase: 'data', done, total });
            },
          );
        }
        artifactRows = (
          await trx.selectFrom('artifacts').select(['org_id', 'sha256', 'length']).orderBy('sha256').execute()
        ).map((r) => ({ orgId: r.org_id, sha256: r.sha256, length: Number(r.length) }));
        roots = await trx
          .selectFrom('tuf_metadata as m')
          .select(['m.org_id', 'm.version', 'm.document'])
          .where('m.role', '=', 'root')
          .orderBy('m.org_id')
          .orderBy('m.version')
          .execute();
        cas = await trx.selectFrom('device_cas').select(['org_id', 'cert_pem']).orderBy('org_id').execute();
        organizations = await trx
          .selectFrom('organizations')
          .select(['id', 'slug', 'name'])
          .orderBy('slug')
          .execute();
      },
    );
  } finally {
    await store.close();
  }
  if (migrations.length === 0)
    throw new Error('escrow: the database has no schema yet (run brickless migrate)');

  let newArtifacts = 0;
  for (const [index, artifact] of artifactRows.entries()) {
    // Opened only when the escrow lacks it: an S3 or PostgreSQL read is a request, not a file handle.
    if (
      !objects.has(artifact.sha256, 'blob') &&
      (await objects.putBlob(artifact.sha256, await source.artifacts.read(artifact.orgId, artifact.sha256)))
    ) {
      newArtifacts++;
      newBytes += artifact.length;
    }
    options.onProgress?.({ phase: 'artifacts', done: index + 1, total: artifactRows.length });
  }

  const files: Record<string, FileEntry> = {};
  const put = async (name: string, content: string | Uint8Array) => {
    const path = join(depositDir, name);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await writeFile(path, content, { mode: 0o600 });
    files[name] = { sha256: sha256Of(Buffer.from(content)), bytes: Buffer.byteLength(content) };
  };
  for (const doc of PROTOCOL_DOCS) {
    const path = join(DOCS_DIR, doc);
    if (!existsSync(path))
      throw new Error(`escrow: ${path} is missing: this build cannot deposit its protocol documents`);
    await put(`docs/${doc}`, readFileSync(path));
  }
  await put('docs/openapi.json', `${JSON.stringify(source.openapi, null, 2)}\n`);
  const slugOf = new Map(organizations.map((o) => [o.id, o.slug]));
  for (const root of roots)
    await put(`trust/${slugOf.get(root.org_id) ?? root.org_id}/${root.version}.root.json`, root.document);
  for (const ca of cas) await put(`trust/${slugOf.get(ca.org_id) ?? ca.org_id}/device-ca.crt`, ca.cert_pem);
  const tlsDir = join(source.dataDir, 'tls');
  const tls: Record<string, string> = {};
  for (const name of ['ca.crt', 'ca.key', 'server.crt', 'server.key']) {
    if (existsSync(join(tlsDir, name))) tls[name] = readFileSync(join(tlsDir, name), 'utf8');
  }
  if (tls['ca.crt']) await put('trust/server-ca.crt', tls['ca.crt']);
  options.onProgress?.({ phase: 'files', done: 1, total: 1 });

  const secrets: EscrowSecrets = {
    format: 'brickless-escrow-secrets/1',
    masterKey,
    tls,
    config: source.config,
  };
  await put('secrets.age', await encryptSecrets(secrets, options.recipients));

  const rows = Object.values(tables).reduce((a, t) => a + t.rows, 0);
  const chunks = Object.values(tables).reduce((a, t) => a + t.chunks.length, 0);
  const manifest: DepositManifest = {
    format: ESCROW_FORMAT,
    id,
    sequence,
    createdAt: now.toISOString(),
    brickless: VERSION,
    previous: previous ? { id: previous.manifest.id, sha256: previous.manifestSha256 } : null,
    source: { dialect: store.dialect, driver: store.driver },
    schema: { migrations, current: migrations[migrations.length - 1] ?? '' },
    tables,
    artifacts: artifactRows,
    files,
    secrets: {
      file: 'secrets.age',
      recipients: options.recipients,
      contents: ['masterKey', ...Object.keys(tls).map((n) => `tls/${n}`), 'config'],
    },
    organizations,
    audit: { checkpoints: signCheckpoints(heads, key, now) },
    keyRotations: key.rotations,
    stats: {
      rows,
      chunks,
      newChunks: 0,
      newBytes,
      artifacts: artifactRows.length,
      newArtifacts,
      seconds: 0,
    },
  };
  manifest.stats.newChunks = countNew(manifest, previous?.manifest ?? null);
  await put('RESTORE.md', restoreRunbook(manifest, key.publicKey));
  manifest.stats.seconds = Math.round((Date.now() - started) / 100) / 10;
  manifest.signature = { key: key.publicKey, value: signDocument(key.privateKey, signedPart(manifest)) };
  await writeFile(join(depositDir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`, {
    mode: 0o600,
  });
  // The pointer moves last, by rename: a deposit cut short never becomes the latest.
  await writeFile(join(options.out, 'LATEST.tmp'), `${id}\n`);
  renameSync(join(options.out, 'LATEST.tmp'), join(options.out, 'LATEST'));
  // The checkpoints also go to the data dir's append-only log, which `audit verify` reads.
  appendCheckpoints(join(source.dataDir, CHECKPOINT_LOG), manifest.audit.checkpoints);
  return manifest;
}

/** Chunks this deposit has that the previous one did not. */
function countNew(current: DepositManifest, previous: DepositManifest | null): number {
  const before = new Set(Object.values(previous?.tables ?? {}).flatMap((t) => t.chunks.map((c) => c.sha256)));
  return Object.values(current.tables).reduce(
    (n, t) => n + t.chunks.filter((c) => !before.has(c.sha256)).length,
    0,
  );
}

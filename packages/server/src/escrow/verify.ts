import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocatedDeposit, locateDeposit } from './manifest.js';
import { ObjectStore, sha256Of } from './objects.js';
import { restoreDeposit, unknownMigrations } from './restore.js';
import { decryptSecrets } from './secrets.js';
import { tablesAt } from './tables.js';

/** The levels a deposit can reach, each including the ones before it. */
export const LEVELS = ['integrity', 'completeness', 'restorability'] as const;
export type Level = (typeof LEVELS)[number];

export interface Check {
  level: Level;
  name: string;
  ok: boolean;
  detail: string;
}

export interface VerifyReport {
  deposit: string;
  escrowDir: string;
  /** The highest level whose checks (and all lower ones) passed; null when integrity failed. */
  level: Level | null;
  /** True when every check that ran passed. */
  ok: boolean;
  checks: Check[];
  /** Levels not checked: restorability needs the agent's identity. */
  skipped: Level[];
}

const REQUIRED_FILES = [
  'docs/protocol.md',
  'docs/asyncapi.yaml',
  'docs/openapi.json',
  'RESTORE.md',
  'secrets.age',
];

/**
 * Checks a deposit the way a successor will use it: every part's hash (integrity), that nothing a
 * restore needs is missing (completeness), and, given the agent's identity, that the secrets open
 * and the whole deposit restores into a scratch SQLite database with its audit chains intact and
 * its sealed keys opening (restorability). Every problem is listed; nothing stops at the first.
 */
export async function verifyDeposit(
  bundle: string,
  options: {
    depositId?: string;
    identity?: string;
    onProgress?: (step: string, done: number, total: number) => void;
  },
): Promise<VerifyReport> {
  const located = locateDeposit(bundle, options.depositId);
  const { manifest } = located;
  const checks: Check[] = [];
  const add = (level: Level, name: string, ok: boolean, detail: string) =>
    checks.push({ level, name, ok, detail });
  const objects = new ObjectStore(located.escrowDir);

  // Integrity: the deposit's own files, then every object it names.
  const badFiles: string[] = [];
  for (const [name, entry] of Object.entries(manifest.files)) {
    const path = join(located.depositDir, name);
    if (!existsSync(path)) badFiles.push(`${name} missing`);
    else if (sha256Of(readFileSync(path)) !== entry.sha256) badFiles.push(`${name} altered`);
  }
  add(
    'integrity',
    'files',
    badFiles.length === 0,
    badFiles.length ? badFiles.join('; ') : `${Object.keys(manifest.files).length} files match their SHA-256`,
  );
  const chunks = Object.entries(manifest.tables).flatMap(([table, t]) =>
    t.chunks.map((c) => ({ table, ...c })),
  );
  const badChunks: string[] = [];
  for (const [index, chunk] of chunks.entries()) {
    if (!objects.has(chunk.sha256, 'chunk'))
      badChunks.push(`${chunk.table}: chunk ${chunk.sha256.slice(0, 12)} missing`);
    else {
      try {
        const text = await objects.readChunk(chunk.sha256);
        const lines = text.split('\n').length - 1;
        if (lines !== chunk.rows)
          badChunks.push(
            `${chunk.table}: chunk ${chunk.sha256.slice(0, 12)} has ${lines} rows, not ${chunk.rows}`,
          );
      } catch (error) {
        badChunks.push(`${chunk.table}: ${(error as Error).message}`);
      }
    }
    options.onProgress?.('chunks', index + 1, chunks.length);
  }
  add(
    'integrity',
    'data chunks',
    badChunks.length === 0,
    badChunks.length
      ? badChunks.slice(0, 20).join('; ')
      : `${chunks.length} chunks match their SHA-256 and row counts`,
  );
  const badArtifacts: string[] = [];
  for (const [index, artifact] of manifest.artifacts.entries()) {
    if (!objects.has(artifact.sha256, 'blob')) badArtifacts.push(`${artifact.sha256.slice(0, 12)} missing`);
    else if (statSync(objects.path(artifact.sha256, 'blob')).size !== artifact.length)
      badArtifacts.push(`${artifact.sha256.slice(0, 12)} has the wrong length`);
    else if ((await objects.hashBlob(artifact.sha256)) !== artifact.sha256)
      badArtifacts.push(`${artifact.sha256.slice(0, 12)} altered`);
    options.onProgress?.('artifacts', index + 1, manifest.artifacts.length);
  }
  add(
    'integrity',
    'artifacts',
    badArtifacts.length === 0,
    badArtifacts.length
      ? badArtifacts.join('; ')
      : `${manifest.artifacts.length} artifacts match their SHA-256`,
  );
  if (manifest.previous) {
    let detail: string;
    let ok = false;
    try {
      const previous = locateDeposit(located.escrowDir, manifest.previous.id);
      ok = previous.manifestSha256 === manifest.previous.sha256;
      detail = ok
        ? `follows deposit ${manifest.previous.id}`
        : `deposit ${manifest.previous.id} was altered after this one named it`;
    } catch (error) {
      detail = `previous deposit ${manifest.previous.id}: ${(error as Error).message}`;
    }
    add('integrity', 'deposit chain', ok, detail);
  }

  // Completeness: every table of the deposit's schema, every file a successor needs, a schema this build knows.
  const unknown = unknownMigrations(located);
  add(
    'completeness',
    'schema',
    unknown.length === 0,
    unknown.length
      ? `this brickless does not know ${unknown.join(', ')}: use brickless ${manifest.brickless} or later`
      : `schema ${manifest.schema.current} is known to this brickless`,
  );
  const missingTables = unknown.length
    ? []
    : tablesAt(manifest.schema.current).filter((t) => !manifest.tables[t]);
  add(
    'completeness',
    'tables',
    missingTables.length === 0,
    missingTables.length
      ? `missing ${missingTables.join(', ')}`
      : `${Object.keys(manifest.tables).length} tables`,
  );
  const missingFiles = REQUIRED_FILES.filter((f) => !manifest.files[f]);
  add(
    'completeness',
    'documents and secrets',
    missingFiles.length === 0,
    missingFiles.length
      ? `missing ${missingFiles.join(', ')}`
      : 'protocol documents, OpenAPI, RESTORE.md and secrets.age are there',
  );
  const artifactRows = manifest.tables.artifacts?.rows ?? 0;
  add(
    'completeness',
    'artifact references',
    artifactRows === manifest.artifacts.length,
    `${manifest.artifacts.length} of ${artifactRows} artifacts in the artifacts table are in the bundle`,
  );

  const skipped: Level[] = [];
  if (options.identity) await checkRestorability(located, options.identity, add, options.onProgress);
  else skipped.push('restorability');

  let level: Level | null = null;
  for (const candidate of LEVELS) {
    const ran = checks.filter((c) => c.level === candidate);
    if (ran.length === 0 || ran.some((c) => !c.ok)) break;
    level = candidate;
  }
  return {
    deposit: manifest.id,
    escrowDir: located.escrowDir,
    level,
    ok: checks.every((c) => c.ok),
    checks,
    skipped,
  };
}

async function checkRestorability(
  located: LocatedDeposit,
  identity: string,
  add: (level: Level, name: string, ok: boolean, detail: string) => void,
  onProgress?: (step: string, done: number, total: number) => void,
): Promise<void> {
  let secrets: Awaited<ReturnType<typeof decryptSecrets>>;
  try {
    secrets = await decryptSecrets(
      readFileSync(join(located.depositDir, located.manifest.secrets.file)),
      identity,
    );
    add(
      'restorability',
      'secrets',
      true,
      `secrets.age opens: ${located.manifest.secrets.contents.join(', ')}`,
    );
  } catch (error) {
    add('restorability', 'secrets', false, (error as Error).message);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'brickless-escrow-verify-'));
  try {
    const report = await restoreDeposit(located, {
      database: join(scratch, 'trial.db'),
      secrets,
      ...(onProgress ? { onProgress: (p) => onProgress(`trial restore ${p.phase}`, p.done, p.total) } : {}),
    });
    const rows = Object.values(report.rows).reduce((a, b) => a + b, 0);
    add(
      'restorability',
      'trial restore',
      true,
      `${rows} rows restored into a scratch SQLite database and migrated to ${report.migratedTo}`,
    );
    const broken = report.chains.filter((c) => !c.ok);
    add(
      'restorability',
      'audit chains',
      broken.length === 0,
      broken.length
        ? `broken: ${broken.map((c) => `${c.chain} (${c.problems[0]?.problem ?? ''})`).join('; ')}`
        : `${report.chains.length} chains, ${report.chains.reduce((a, c) => a + c.entries, 0)} entries verify`,
    );
    add(
      'restorability',
      'sealed keys',
      true,
      `the master key opens all ${report.sealedSecretsOpened} sealed keys (online TUF keys, device CA keys)`,
    );
  } catch (error) {
    add('restorability', 'trial restore', false, (error as Error).message);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

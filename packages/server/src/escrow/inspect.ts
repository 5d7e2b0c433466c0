import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { entryHash } from '../audit/chain.js';
import { openStore } from '../store/db.js';
import { migrateTo } from '../store/migrate.js';
import { migrations } from '../store/migrations/index.js';
import { type DepositManifest, type LocatedDeposit, manifestHeads } from './manifest.js';
import { ObjectStore, sha256Of } from './objects.js';
import { verifyDocument } from './signing.js';
import { tablesAt } from './tables.js';
import { checkTrust, type TrustOptions, type TrustResult } from './trust.js';

/** The levels a deposit can reach, each including the ones before it. */
export const LEVELS = ['integrity', 'completeness', 'restorability'] as const;
export type Level = (typeof LEVELS)[number];

export interface Check {
  level: Level;
  name: string;
  ok: boolean;
  detail: string;
}

export type AddCheck = (level: Level, name: string, ok: boolean, detail: string) => void;

const REQUIRED_FILES = [
  'docs/protocol.md',
  'docs/asyncapi.yaml',
  'docs/openapi.json',
  'RESTORE.md',
  'secrets.age',
];

/** PostgreSQL's integer (int4) range; SQLite stores any 64-bit integer in an `integer` column. */
const INT4_MIN = -2_147_483_648;
const INT4_MAX = 2_147_483_647;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Migrations a deposit has that this build does not know: it cannot restore them. */
export function unknownMigrations(manifest: DepositManifest): string[] {
  return manifest.schema.migrations.filter((m) => !(m in migrations));
}

const schemaCache = new Map<string, Map<string, Map<string, string>>>();

/** The declared column types of every table at a schema version (an in-memory SQLite keeps them as written). */
async function columnTypesAt(current: string): Promise<Map<string, Map<string, string>>> {
  const cached = schemaCache.get(current);
  if (cached) return cached;
  const store = await openStore(':memory:');
  try {
    await migrateTo(store.db, current);
    const types = new Map(
      (await store.db.introspection.getTables()).map((t) => [
        t.name,
        new Map(t.columns.map((c) => [c.name, c.dataType.toLowerCase()])),
      ]),
    );
    schemaCache.set(current, types);
    return types;
  } finally {
    await store.close();
  }
}

/**
 * Why a value cannot go into a column of this type on both dialects, or null. The deposit must
 * restore into PostgreSQL as well as SQLite, so it is held to the stricter of the two: no NUL in
 * text (PostgreSQL refuses it), no lone surrogate (neither can store it as UTF-8 without changing
 * it), integers within int4 for `integer` and exact for `bigint`, finite numbers for `real`.
 */
export function valueProblem(type: string, value: unknown): string | null {
  if (value === null) return null;
  if (type === 'text') {
    if (typeof value === 'number') return null;
    if (typeof value !== 'string') return `a ${typeof value} in a text column`;
    if (value.includes('\u0000')) return 'text with a NUL character (PostgreSQL cannot store it)';
    if (LONE_SURROGATE.test(value)) return 'text that is not valid Unicode (a lone surrogate)';
    return null;
  }
  if (type === 'integer' || type === 'bigint' || type === 'real') {
    if (typeof value !== 'number' || !Number.isFinite(value))
      return `${JSON.stringify(value)} in a ${type} column`;
    if (type === 'integer' && (!Number.isInteger(value) || value < INT4_MIN || value > INT4_MAX))
      return `${value} does not fit PostgreSQL's integer (32-bit)`;
    if (type === 'bigint' && !Number.isSafeInteger(value)) return `${value} is not an exact 64-bit integer`;
  }
  return null;
}

export interface Inspection {
  checks: Check[];
  trust: TrustResult;
}

/**
 * Every check that needs no secret, shared by `escrow verify` and `escrow restore` (one code
 * path: what verify passes, restore accepts). Integrity: who signed the manifest, the chain of
 * deposits, every file, chunk and artifact against its SHA-256. Completeness: every table, file
 * and artifact, a known schema, values both databases can hold, and audit heads that match the
 * data and extend the previous deposit's. Every problem is listed; nothing stops at the first.
 */
export async function inspectDeposit(
  located: LocatedDeposit,
  trustOptions: TrustOptions,
  onProgress?: (step: string, done: number, total: number) => void,
): Promise<Inspection> {
  const { manifest } = located;
  const checks: Check[] = [];
  const add: AddCheck = (level, name, ok, detail) => checks.push({ level, name, ok, detail });
  const objects = new ObjectStore(located.escrowDir);

  const trust = checkTrust(located, trustOptions);
  for (const c of trust.checks) add('integrity', c.name, c.ok, c.detail);

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

  const unknown = unknownMigrations(manifest);
  const types = unknown.length ? null : await columnTypesAt(manifest.schema.current);
  const data = await scanData(located, objects, types, trust, onProgress);
  add(
    'integrity',
    'data chunks',
    data.bad.length === 0,
    data.bad.length
      ? data.bad.slice(0, 20).join('; ')
      : `${data.chunks} chunks match their SHA-256 and row counts`,
  );

  const badArtifacts: string[] = [];
  for (const [index, artifact] of manifest.artifacts.entries()) {
    if (!objects.has(artifact.sha256, 'blob')) badArtifacts.push(`${artifact.sha256.slice(0, 12)} missing`);
    else if (statSync(objects.path(artifact.sha256, 'blob')).size !== artifact.length)
      badArtifacts.push(`${artifact.sha256.slice(0, 12)} has the wrong length`);
    else if ((await objects.hashBlob(artifact.sha256)) !== artifact.sha256)
      badArtifacts.push(`${artifact.sha256.slice(0, 12)} altered`);
    onProgress?.('artifacts', index + 1, manifest.artifacts.length);
  }
  add(
    'integrity',
    'artifacts',
    badArtifacts.length === 0,
    badArtifacts.length
      ? badArtifacts.join('; ')
      : `${manifest.artifacts.length} artifacts match their SHA-256`,
  );

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
  add(
    'completeness',
    'portable values',
    data.values.length === 0 && types !== null,
    types === null
      ? 'not checked: unknown schema'
      : data.values.length
        ? `not restorable: ${data.values.slice(0, 10).join('; ')}${data.values.length > 10 ? ` (${data.values.length} in all)` : ''}`
        : `${data.rows} rows hold only values both SQLite and PostgreSQL store as they are`,
  );
  add(
    'completeness',
    'audit heads',
    data.audit.length === 0,
    data.audit.length ? data.audit.join('; ') : data.auditSummary,
  );
  return { checks, trust };
}

interface DataScan {
  chunks: number;
  rows: number;
  bad: string[];
  values: string[];
  audit: string[];
  auditSummary: string;
}

/**
 * Reads every chunk once: its hash and row count, every value against the column's type, and
 * in the audit tables the rows the checkpoints anchor: the head rows must be the manifest's
 * checkpoints, and the entry at each checkpointed size (this deposit's and the previous one's)
 * must recompute to the checkpointed hash, so a chain cut or rewritten before the deposit shows.
 */
async function scanData(
  located: LocatedDeposit,
  objects: ObjectStore,
  types: Map<string, Map<string, string>> | null,
  trust: TrustResult,
  onProgress?: (step: string, done: number, total: number) => void,
): Promise<DataScan> {
  const { manifest } = located;
  const scan: DataScan = { chunks: 0, rows: 0, bad: [], values: [], audit: [], auditSummary: '' };
  const heads = manifestHeads(manifest);
  const signer = manifest.signature?.key ?? '';
  for (const c of manifest.audit.checkpoints)
    if (c.checkpoint.key !== signer || !verifyDocument(signer, c.checkpoint, c.signature))
      scan.audit.push(`the checkpoint of chain ${c.checkpoint.chain} is not signed by the deposit's key`);
  // Anchors: (chain, seq) → the hash the entry there must have, and who says so.
  const anchors = new Map<string, { hash: string; by: string }[]>();
  const anchor = (chain: string, seq: number, hash: string, by: string) => {
    if (seq <= 0) return;
    const key = `${chain}\u0000${seq}`;
    anchors.set(key, [...(anchors.get(key) ?? []), { hash, by }]);
  };
  for (const [chain, head] of heads) anchor(chain, head.seq, head.hash, 'this deposit');
  for (const [chain, head] of trust.previousHeads ?? [])
    anchor(chain, head.seq, head.hash, 'the previous deposit');
  const found = new Set<string>();
  const headRows = new Map<string, { seq: number; hash: string }>();

  const all = Object.entries(manifest.tables).flatMap(([table, t]) =>
    t.chunks.map((c) => ({ table, t, ...c })),
  );
  for (const [index, chunk] of all.entries()) {
    onProgress?.('chunks', index + 1, all.length);
    scan.chunks++;
    if (!objects.has(chunk.sha256, 'chunk')) {
      scan.bad.push(`${chunk.table}: chunk ${chunk.sha256.slice(0, 12)} missing`);
      continue;
    }
    let text: string;
    try {
      text = await objects.readChunk(chunk.sha256);
    } catch (error) {
      scan.bad.push(`${chunk.table}: ${(error as Error).message}`);
      continue;
    }
    const lines = text.split('\n');
    if (lines.pop() !== '' || lines.length !== chunk.rows) {
      scan.bad.push(
        `${chunk.table}: chunk ${chunk.sha256.slice(0, 12)} has ${lines.length} rows, not ${chunk.rows}`,
      );
      continue;
    }
    scan.rows += lines.length;
    const columnTypes = types?.get(chunk.table);
    const columns = chunk.t.columns;
    for (const [lineIndex, line] of lines.entries()) {
      let values: unknown;
      try {
        values = JSON.parse(line);
      } catch {
        values = null;
      }
      const where = `${chunk.table} chunk ${chunk.sha256.slice(0, 12)} line ${lineIndex + 1}`;
      if (!Array.isArray(values) || values.length !== columns.length) {
        scan.bad.push(`${where} is not a row of ${columns.length} values`);
        continue;
      }
      if (columnTypes)
        columns.forEach((column, i) => {
          const type = columnTypes.get(column);
          const problem =
            type === undefined ? `no column ${column} at this schema` : valueProblem(type, values[i]);
          if (problem && scan.values.length < 1000) scan.values.push(`${where}, ${column}: ${problem}`);
        });
      if (chunk.table === 'audit_heads' || chunk.table === 'audit_entries') {
        const row = Object.fromEntries(columns.map((c, i) => [c, values[i]])) as Record<string, unknown>;
        if (chunk.table === 'audit_heads')
          headRows.set(String(row.chain), { seq: Number(row.seq), hash: String(row.hash) });
        else {
          const key = `${String(row.chain)}\u0000${Number(row.seq)}`;
          const wanted = anchors.get(key);
          if (wanted) {
            found.add(key);
            scan.audit.push(...anchorProblems(row, wanted));
          }
        }
      }
    }
  }

  // The head rows in the data are exactly the checkpoints the manifest signs.
  for (const [chain, head] of heads) {
    const row = headRows.get(chain);
    if (!row)
      scan.audit.push(
        `chain ${chain}: the data has no head row, the manifest checkpoints ${head.seq} entries`,
      );
    else if (row.seq !== head.seq || row.hash !== head.hash)
      scan.audit.push(
        `chain ${chain}: the data's head (${row.seq}) is not the checkpointed head (${head.seq})`,
      );
  }
  for (const chain of headRows.keys())
    if (!heads.has(chain)) scan.audit.push(`chain ${chain} is in the data but has no checkpoint`);
  for (const [key, wanted] of anchors)
    if (!found.has(key)) {
      const [chain, seq] = key.split('\u0000');
      scan.audit.push(
        `chain ${chain}: entry ${seq}, checkpointed by ${wanted.map((w) => w.by).join(' and ')}, is not in the data`,
      );
    }
  scan.auditSummary = `${heads.size} chains: the data's heads are the signed checkpoints${trust.previousHeads ? ' and extend the previous deposit' : ''}`;
  return scan;
}

function anchorProblems(row: Record<string, unknown>, wanted: { hash: string; by: string }[]): string[] {
  const problems: string[] = [];
  let details: unknown;
  try {
    details = JSON.parse(String(row.details));
  } catch {
    return [`chain ${String(row.chain)}: entry ${String(row.seq)} has details that are not JSON`];
  }
  const recomputed = entryHash({
    chain: String(row.chain),
    seq: Number(row.seq),
    id: String(row.id),
    at: String(row.at),
    actor: String(row.actor),
    action: String(row.action),
    targetType: String(row.target_type),
    targetId: String(row.target_id),
    details,
    prevHash: String(row.prev_hash),
  });
  if (recomputed !== row.hash)
    problems.push(`chain ${String(row.chain)}: entry ${String(row.seq)} does not match its hash (edited)`);
  for (const w of wanted)
    if (row.hash !== w.hash)
      problems.push(
        `chain ${String(row.chain)}: entry ${String(row.seq)} is not the entry ${w.by} checkpointed (history rewritten)`,
      );
  return problems;
}

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { SignedCheckpoint } from '../audit/checkpoints.js';
import type { TableEntry } from './data-export.js';
import { sha256Of } from './objects.js';
import type { KeyRotation } from './signing.js';

/** 2: signed manifests with audit checkpoints (decision 0013); 1 was unsigned. */
export const ESCROW_FORMAT = 'brickless-escrow/2';

export interface ArtifactEntry {
  orgId: string;
  sha256: string;
  length: number;
}

export interface FileEntry {
  sha256: string;
  bytes: number;
}

/**
 * One deposit: `<escrow>/deposits/<id>/manifest.json`. The data chunks and artifacts it names
 * live in the escrow's shared object store (`<escrow>/objects`); the deposit's own files (docs,
 * trust material, RESTORE.md, secrets.age) sit beside the manifest, each with its SHA-256 here.
 * `previous` chains a deposit to the one before it by the hash of that manifest. `audit` holds a
 * signed checkpoint of every audit chain as the deposit's snapshot saw it. The whole manifest is
 * signed with the service's deposit key (`signature`, over the canonical JSON of everything
 * else); `keyRotations` lets an agent that pinned an older key follow to the signing one.
 */
export interface DepositManifest {
  format: typeof ESCROW_FORMAT;
  id: string;
  sequence: number;
  createdAt: string;
  brickless: string;
  previous: { id: string; sha256: string } | null;
  source: { dialect: string; driver: string };
  schema: { migrations: string[]; current: string };
  tables: Record<string, TableEntry>;
  artifacts: ArtifactEntry[];
  files: Record<string, FileEntry>;
  secrets: { file: string; recipients: string[]; contents: string[] };
  organizations: { id: string; slug: string; name: string }[];
  audit: { checkpoints: SignedCheckpoint[] };
  keyRotations: KeyRotation[];
  stats: {
    rows: number;
    chunks: number;
    newChunks: number;
    newBytes: number;
    artifacts: number;
    newArtifacts: number;
    seconds: number;
  };
  /** Ed25519 by `key` over the canonical JSON of the manifest without this field (decision 0013). */
  signature?: { key: string; value: string };
}

/** What the signature covers: the manifest without its signature. */
export function signedPart(manifest: DepositManifest): Omit<DepositManifest, 'signature'> {
  const { signature: _signature, ...rest } = manifest;
  return rest;
}

/** The heads the manifest's checkpoints name, by chain. */
export function manifestHeads(manifest: DepositManifest): Map<string, { seq: number; hash: string }> {
  return new Map(
    manifest.audit.checkpoints.map((c) => [
      c.checkpoint.chain,
      { seq: c.checkpoint.size, hash: c.checkpoint.head },
    ]),
  );
}

export interface LocatedDeposit {
  /** The escrow directory (holds `objects/` and `deposits/`). */
  escrowDir: string;
  /** The deposit's own directory. */
  depositDir: string;
  manifest: DepositManifest;
  /** SHA-256 of manifest.json as stored. */
  manifestSha256: string;
}

/** The id of the newest deposit in an escrow directory, or null for an empty one. */
export function latestDepositId(escrowDir: string): string | null {
  const pointer = join(escrowDir, 'LATEST');
  if (!existsSync(pointer)) return null;
  return readFileSync(pointer, 'utf8').trim() || null;
}

/**
 * Finds a deposit: BUNDLE may be the escrow directory (its newest deposit, or `depositId`), a
 * deposit directory, or a manifest.json. Errors say what was expected.
 */
export function locateDeposit(bundle: string, depositId?: string): LocatedDeposit {
  if (!existsSync(bundle)) throw new Error(`escrow: ${bundle} does not exist`);
  let depositDir: string;
  if (statSync(bundle).isFile()) depositDir = dirname(bundle);
  else if (existsSync(join(bundle, 'manifest.json'))) depositDir = bundle;
  else {
    const id = depositId ?? latestDepositId(bundle);
    if (!id) throw new Error(`escrow: ${bundle} holds no deposit (no LATEST file and no manifest.json)`);
    depositDir = join(bundle, 'deposits', id);
  }
  const escrowDir = dirname(dirname(depositDir));
  if (basename(dirname(depositDir)) !== 'deposits')
    throw new Error(`escrow: ${depositDir} is not inside an escrow directory's deposits/`);
  const file = join(depositDir, 'manifest.json');
  if (!existsSync(file)) throw new Error(`escrow: ${file} is missing`);
  const text = readFileSync(file);
  let manifest: DepositManifest;
  try {
    manifest = JSON.parse(text.toString('utf8')) as DepositManifest;
  } catch {
    throw new Error(`escrow: ${file} is not JSON (truncated or damaged)`);
  }
  if (manifest?.format !== ESCROW_FORMAT)
    throw new Error(
      `escrow: ${file} is not a ${ESCROW_FORMAT} manifest (format ${JSON.stringify(manifest?.format)})`,
    );
  const problems = manifestProblems(manifest);
  if (problems.length > 0) throw new Error(`escrow: ${file} is damaged: ${problems.join('; ')}`);
  return { escrowDir, depositDir, manifest, manifestSha256: sha256Of(text) };
}

/** A deposit-relative path that stays inside the deposit: no absolute path, no `..`. */
export function isSafePart(name: string): boolean {
  return (
    typeof name === 'string' &&
    /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(name) &&
    !name.split('/').includes('..')
  );
}

/** The shape a manifest must have before anything in it is trusted (paths, counts, names). */
function manifestProblems(m: DepositManifest): string[] {
  const problems: string[] = [];
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (typeof m.id !== 'string' || !Number.isInteger(m.sequence)) problems.push('id and sequence');
  if (!isObject(m.schema) || !Array.isArray(m.schema.migrations) || typeof m.schema.current !== 'string')
    problems.push('schema');
  if (!isObject(m.tables)) problems.push('tables');
  else
    for (const [name, t] of Object.entries(m.tables)) {
      if (!isObject(t) || !Array.isArray(t.columns) || !Array.isArray(t.chunks) || !Number.isInteger(t.rows))
        problems.push(`table ${name}`);
    }
  if (!Array.isArray(m.artifacts)) problems.push('artifacts');
  if (!isObject(m.files)) problems.push('files');
  else
    for (const name of Object.keys(m.files))
      if (!isSafePart(name)) problems.push(`file name ${JSON.stringify(name)}`);
  if (!isObject(m.secrets) || !isSafePart(m.secrets.file) || !Array.isArray(m.secrets.recipients))
    problems.push('secrets');
  if (!isObject(m.stats)) problems.push('stats');
  if (!isObject(m.audit) || !Array.isArray(m.audit.checkpoints)) problems.push('audit checkpoints');
  else
    for (const c of m.audit.checkpoints)
      if (
        !isObject(c?.checkpoint) ||
        typeof c.checkpoint.chain !== 'string' ||
        !Number.isSafeInteger(c.checkpoint.size) ||
        typeof c.checkpoint.head !== 'string'
      )
        problems.push('audit checkpoint');
  if (!Array.isArray(m.keyRotations)) problems.push('key rotations');
  if (
    m.previous !== null &&
    (!isObject(m.previous) || typeof m.previous.id !== 'string' || !isSafePart(m.previous.id))
  )
    problems.push('previous');
  return problems;
}

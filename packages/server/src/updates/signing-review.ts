import { createHash, sign, verify } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import { DomainError } from '../errors.js';
import { type PrivateKeyFile, type PublicKeyFile, publicKeyObject } from './keys.js';
import { MAX_EXPIRES_DAYS } from './metadata.js';

/**
 * What a targets key holder sees before signing (issue 14, "signing is never blind"). Everything
 * here is computed on the signer's machine from the very JSON whose canonical bytes the key signs
 * (TUF 4.1: signatures cover the canonical JSON of `signed`), never from the server's own
 * description of it, so a compromised server cannot get an image signed that the listing hides.
 */

export interface ReviewedTarget {
  path: string;
  length: number;
  /** Every hash the target lists (a TUF client checks all of them, TUF 5.7.3). */
  hashes: Record<string, string>;
  /** The brickless custom fields the device acts on (product, version, security version, …). */
  fields: Record<string, unknown>;
}

export interface TargetChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  /** For a changed target: what it was in the last signed targets. */
  before?: ReviewedTarget;
  after?: ReviewedTarget;
}

export interface TargetsReview {
  version: number;
  expires: string;
  /** SHA-256 of the exact bytes the key signs (canonical JSON of `signed`). */
  signedSha256: string;
  targets: ReviewedTarget[];
  /** Against the last published targets, when there are any. */
  previous: { version: number; verifiedBy: string[] } | null;
  changes: TargetChange[];
}

/** A refusal to sign: the signer sees why, nothing is signed. */
export class SigningRefused extends DomainError {
  constructor(message: string) {
    super('validation-failed', message);
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The bytes a targets key signs: the canonical JSON of `signed` (TUF 4.1, 4.2). */
export function signedBytes(metadata: Json): Buffer {
  if (!isObject(metadata.signed)) throw new SigningRefused('not TUF metadata: no "signed" object');
  return Buffer.from(canonicalize(metadata.signed as Json));
}

function targetsOf(signed: Json, what: string): ReviewedTarget[] {
  if (!isObject(signed.targets)) throw new SigningRefused(`${what}: "targets" is not an object`);
  const out: ReviewedTarget[] = [];
  for (const [path, value] of Object.entries(signed.targets)) {
    if (!isObject(value)) throw new SigningRefused(`${what}: target ${path} is not an object`);
    const { length, hashes, custom } = value;
    if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0)
      throw new SigningRefused(`${what}: target ${path} has no valid length`);
    if (!isObject(hashes) || typeof hashes.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(hashes.sha256))
      throw new SigningRefused(`${what}: target ${path} has no SHA-256`);
    const fields = isObject(custom) && isObject(custom.brickless) ? custom.brickless : {};
    out.push({ path, length, hashes: hashes as Record<string, string>, fields });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** Key ids among `keys` whose signature over `metadata` verifies (TUF 5.4.2, per key). */
export function verifiedBy(metadata: Json, keys: PublicKeyFile[]): string[] {
  const signatures = Array.isArray(metadata.signatures) ? (metadata.signatures as unknown[]) : [];
  const bytes = signedBytes(metadata);
  const ids: string[] = [];
  for (const key of keys) {
    const ok = signatures.some((s) => {
      if (!isObject(s) || s.keyid !== key.keyid || typeof s.sig !== 'string') return false;
      try {
        return verify(null, bytes, publicKeyObject(key.keyval.public), Buffer.from(s.sig, 'hex'));
      } catch {
        return false;
      }
    });
    if (ok) ids.push(key.keyid);
  }
  return ids;
}

const same = (a: ReviewedTarget, b: ReviewedTarget) =>
  a.length === b.length &&
  canonicalize(a.hashes as Json) === canonicalize(b.hashes as Json) &&
  canonicalize(a.fields as Json) === canonicalize(b.fields as Json);

/**
 * Reads the targets metadata about to be signed, and what changed since `previous` (the last
 * published targets). Refuses what brickless never produces and a signer could not judge:
 * another `_type`, delegations (they would hand signing power to keys the signer never saw),
 * a target without length or SHA-256, an expiry in the past or beyond the documented maximum.
 */
export function reviewTargets(
  metadata: unknown,
  previous: unknown,
  signerKeys: PublicKeyFile[],
  now: Date,
): TargetsReview {
  if (!isObject(metadata) || !isObject(metadata.signed))
    throw new SigningRefused('not TUF metadata: no "signed" object');
  const signed = metadata.signed;
  if (signed._type !== 'targets') throw new SigningRefused(`this is ${String(signed._type)}, not targets`);
  if (signed.delegations !== undefined)
    throw new SigningRefused(
      'these targets delegate to other keys (TUF 4.5 delegations); brickless never does, refusing to sign',
    );
  const version = signed.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)
    throw new SigningRefused('the targets have no valid version');
  const expires = typeof signed.expires === 'string' ? Date.parse(signed.expires) : Number.NaN;
  if (!Number.isFinite(expires)) throw new SigningRefused('the targets have no valid expiry');
  if (expires <= now.getTime()) throw new SigningRefused(`the targets expired already (${signed.expires})`);
  if (expires - now.getTime() > (MAX_EXPIRES_DAYS + 1) * 86_400_000)
    throw new SigningRefused(
      `the targets expire ${signed.expires}, more than ${MAX_EXPIRES_DAYS} days from now`,
    );
  const targets = targetsOf(signed, 'targets to sign');
  let before: ReviewedTarget[] = [];
  let previousInfo: TargetsReview['previous'] = null;
  if (isObject(previous) && isObject(previous.signed)) {
    before = targetsOf(previous.signed, 'the last signed targets');
    const previousVersion = Number(previous.signed.version);
    if (!(previousVersion < version))
      throw new SigningRefused(
        `the targets to sign are version ${version}, not newer than the last signed version ${previousVersion} (TUF 5.6.5)`,
      );
    previousInfo = { version: previousVersion, verifiedBy: verifiedBy(previous, signerKeys) };
  }
  const old = new Map(before.map((t) => [t.path, t]));
  const changes: TargetChange[] = [];
  for (const target of targets) {
    const was = old.get(target.path);
    if (!was) changes.push({ path: target.path, kind: 'added', after: target });
    else if (!same(was, target))
      changes.push({ path: target.path, kind: 'changed', before: was, after: target });
    old.delete(target.path);
  }
  for (const gone of old.values()) changes.push({ path: gone.path, kind: 'removed', before: gone });
  return {
    version,
    expires: signed.expires as string,
    signedSha256: createHash('sha256').update(signedBytes(metadata)).digest('hex'),
    targets,
    previous: previousInfo,
    changes,
  };
}

export interface LocalFile {
  file: string;
  length: number;
  hashes: Record<string, string>;
}

/** Length and hashes of one of the maker's own build outputs, streamed (images can be large). */
export async function hashLocalFile(file: string, algorithms: string[] = ['sha256', 'sha512']) {
  const hashers = algorithms.map((a) => [a, createHash(a)] as const);
  let length = 0;
  for await (const chunk of createReadStream(file)) {
    length += (chunk as Buffer).length;
    for (const [, h] of hashers) h.update(chunk as Buffer);
  }
  return { file, length, hashes: Object.fromEntries(hashers.map(([a, h]) => [a, h.digest('hex')])) };
}

const short = (hex: string | undefined) => (hex ? `${hex.slice(0, 16)}…` : '-');

/**
 * Checks the targets against the maker's own files (`--file`, repeatable). Each file must be a
 * target (same length and every hash it lists) or the SBOM of one; and, once any file is given,
 * every target that is new or changed since the last signed targets must be one of them: the
 * server cannot slip in an image the maker did not build.
 */
export function checkAgainstFiles(review: TargetsReview, files: LocalFile[]): void {
  const problems: string[] = [];
  const vouched = new Set<string>();
  for (const local of files) {
    const image = review.targets.find((t) => t.hashes.sha256 === local.hashes.sha256);
    const sbomOf = review.targets.find((t) => t.fields.sbomSha256 === local.hashes.sha256);
    if (image) {
      if (image.length !== local.length)
        problems.push(
          `${local.file}: target ${image.path} says ${image.length} bytes, the file has ${local.length}`,
        );
      for (const [algorithm, hex] of Object.entries(image.hashes))
        if (local.hashes[algorithm] === undefined)
          problems.push(
            `${local.file}: target ${image.path} lists a ${algorithm} hash this tool cannot check`,
          );
        else if (local.hashes[algorithm] !== hex)
          problems.push(`${local.file}: target ${image.path} lists a different ${algorithm}`);
      vouched.add(image.path);
    } else if (!sbomOf) {
      const named = review.changes.find(
        (c) => c.after && basename(c.after.path) === basename(local.file),
      )?.after;
      problems.push(
        named
          ? `${local.file} (${local.length} bytes, sha256 ${short(local.hashes.sha256)}) differs from target ${named.path} (${named.length} bytes, sha256 ${short(named.hashes.sha256)})`
          : `${local.file} (sha256 ${short(local.hashes.sha256)}) is not among the targets to sign`,
      );
    }
  }
  if (files.length > 0)
    for (const change of review.changes)
      if (change.after && !vouched.has(change.path))
        problems.push(
          `target ${change.path} is ${change.kind} since the last signed targets, and no --file is this image`,
        );
  if (problems.length)
    throw new SigningRefused(
      `refusing to sign; the targets differ from your files:\n  ${problems.join('\n  ')}`,
    );
}

/** The listing a signer reads: every target, then what changed. */
export function formatReview(review: TargetsReview, signerKeys: PublicKeyFile[]): string {
  const lines: string[] = [];
  lines.push(
    `targets version ${review.version}, expires ${review.expires}, ${review.targets.length} image(s)`,
    `signed bytes (canonical JSON) sha256 ${review.signedSha256}`,
    `signing with ${signerKeys.map((k) => `${k.keyid.slice(0, 16)}…${k.name ? ` (${k.name})` : ''}`).join(', ')}`,
    '',
  );
  for (const t of review.targets) {
    lines.push(`  ${t.path}`);
    lines.push(`    length ${t.length}  sha256 ${t.hashes.sha256}`);
    for (const [algorithm, hex] of Object.entries(t.hashes))
      if (algorithm !== 'sha256') lines.push(`    ${algorithm} ${hex}`);
    const f = t.fields;
    lines.push(
      `    version ${String(f.version ?? '-')}  kind ${String(f.kind ?? '-')}  security version ${String(f.securityVersion ?? '-')}  hardware ${Array.isArray(f.hardware) ? f.hardware.join(',') : '-'}`,
    );
    lines.push(`    sbom sha256 ${typeof f.sbomSha256 === 'string' ? f.sbomSha256 : 'none'}`);
  }
  lines.push('');
  if (!review.previous) lines.push('changes: these are the first targets ever signed');
  else {
    const who = review.previous.verifiedBy.length
      ? 'its signature verified with your key'
      : 'NOT signed by your key: compare with care';
    lines.push(`changes since the last signed targets (version ${review.previous.version}, ${who}):`);
    if (review.changes.length === 0) lines.push('  none (the list of images is the same)');
    for (const c of review.changes) {
      if (c.kind === 'added') lines.push(`  + ${c.path}`);
      else if (c.kind === 'removed') lines.push(`  - ${c.path}`);
      else
        lines.push(
          `  ! ${c.path} CHANGED: length ${c.before?.length} → ${c.after?.length}, sha256 ${short(c.before?.hashes.sha256)} → ${short(c.after?.hashes.sha256)}`,
        );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Ed25519 signatures over the canonical bytes, one per key (TUF 4.2 `signatures`). */
export function signTargetsBytes(metadata: Json, keys: PrivateKeyFile[]): { keyid: string; sig: string }[] {
  const bytes = signedBytes(metadata);
  return keys.map((key) => ({ keyid: key.keyid, sig: sign(null, bytes, key.private).toString('hex') }));
}

/** The file `release sign --export` writes and the air-gapped side reads. */
export const PENDING_FORMAT = 'brickless/targets-signing-request@1';
/** The file the air-gapped side writes and `release sign --import` uploads. */
export const SIGNATURES_FORMAT = 'brickless/targets-signatures@1';

export interface PendingSigning {
  format: typeof PENDING_FORMAT;
  org: string;
  version: number;
  /** The targets metadata to sign, as the server holds it: the signer recomputes everything. */
  metadata: Json;
  /** The last published targets, to show what changed (verified by the signer's own key). */
  previous: Json | null;
}

export interface SignaturesFile {
  format: typeof SIGNATURES_FORMAT;
  org: string;
  version: number;
  signedSha256: string;
  signatures: { keyid: string; sig: string }[];
}

export function parsePending(value: unknown, source: string): PendingSigning {
  if (!isObject(value) || value.format !== PENDING_FORMAT || !isObject(value.metadata))
    throw new SigningRefused(`${source}: not a signing request from \`brickless release sign --export\``);
  if (typeof value.org !== 'string' || typeof value.version !== 'number')
    throw new SigningRefused(`${source}: the signing request lacks org or version`);
  return value as unknown as PendingSigning;
}

export function parseSignatures(value: unknown, source: string): SignaturesFile {
  const sigOk = (s: unknown) =>
    isObject(s) &&
    typeof s.keyid === 'string' &&
    /^[0-9a-f]{64}$/.test(s.keyid) &&
    typeof s.sig === 'string' &&
    /^[0-9a-f]{128}$/.test(s.sig);
  if (
    !isObject(value) ||
    value.format !== SIGNATURES_FORMAT ||
    typeof value.version !== 'number' ||
    typeof value.org !== 'string' ||
    !Array.isArray(value.signatures) ||
    value.signatures.length === 0 ||
    !value.signatures.every(sigOk)
  )
    throw new SigningRefused(
      `${source}: not a signatures file from \`brickless release sign --sign-offline\``,
    );
  return value as unknown as SignaturesFile;
}

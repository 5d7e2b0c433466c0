import { type Unzipped, unzipSync, zipSync } from 'fflate';
import { sha256Of } from '../escrow/objects.js';
import {
  type DepositKey,
  followRotations,
  isPublicKey,
  type KeyRotation,
  signDocument,
  verifyDocument,
} from '../escrow/signing.js';

/**
 * The evidence pack's archive and its signed manifest (issue 21 §1). The pack is a ZIP (readable
 * on every desktop without tools); `manifest.json` names every other file with its SHA-256 and
 * is signed with Ed25519: an evidence pack by the organisation's key (evidence/org-key.ts), a
 * takeover readiness report by the service's deposit key that escrow agents already pin (decision
 * 0013). Both carry their key's signed rotations, so one verifier serves both.
 */
export const EVIDENCE_FORMAT = 'brickless-evidence/1';
export const MANIFEST_FILE = 'manifest.json';
/** Fixed entry time: the same inputs give the same archive bytes. */
const ENTRY_TIME = new Date('2000-01-01T00:00:00Z');
/** Largest file a verifier unpacks: a pack holds JSON and SBOMs, never firmware images. */
export const MAX_ENTRY_BYTES = 256 * 1024 * 1024;
const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

export interface EvidenceManifest {
  format: typeof EVIDENCE_FORMAT;
  createdAt: string;
  brickless: string;
  organization: { id: string; slug: string; name: string };
  /** The product of an evidence pack; null for a takeover readiness report (`kind`). */
  product: { id: string; modelNumber: string; name: string } | null;
  /** What the archive holds when it is not a product's evidence pack (docs/evidence.md). */
  kind?: 'takeover-readiness';
  /** Present in a release pack: the one release it covers. */
  release?: { id: string; version: string };
  files: Record<string, { sha256: string; bytes: number }>;
  keyRotations: KeyRotation[];
  /** Ed25519 by `key` over the canonical JSON (RFC 8785) of the manifest without this field. */
  signature?: { key: string; value: string };
}

export function isSafePath(path: string): boolean {
  return SAFE_PATH.test(path) && !path.split('/').includes('..') && path !== MANIFEST_FILE;
}

/** Writes the archive: every file, then the manifest naming them, signed with `key`. */
export function sealPack(
  files: Map<string, Buffer>,
  header: Omit<EvidenceManifest, 'files' | 'keyRotations' | 'signature'>,
  key: DepositKey,
): { archive: Buffer; manifest: EvidenceManifest } {
  const entries: Record<string, { sha256: string; bytes: number }> = {};
  for (const [path, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!isSafePath(path)) throw new Error(`evidence: unsafe file name ${JSON.stringify(path)}`);
    entries[path] = { sha256: sha256Of(data), bytes: data.length };
  }
  const unsigned: EvidenceManifest = { ...header, files: entries, keyRotations: key.rotations };
  const manifest: EvidenceManifest = {
    ...unsigned,
    signature: { key: key.publicKey, value: signDocument(key.privateKey, unsigned) },
  };
  const zipInput: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const [path, data] of files) zipInput[path] = [data, { mtime: ENTRY_TIME }];
  zipInput[MANIFEST_FILE] = [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), { mtime: ENTRY_TIME }];
  return { archive: Buffer.from(zipSync(zipInput, { level: 6 })), manifest };
}

export interface VerifyResult {
  ok: boolean;
  /** One line per problem, each naming the file it concerns. */
  problems: string[];
  manifest: EvidenceManifest | null;
  /** The key that signed, and whether it was pinned (`--key`) or only read from the manifest. */
  signedBy: string | null;
  pinned: boolean;
  files: number;
}

/** Unpacks an archive without trusting it: entry names and sizes are checked before inflating. */
function unpack(archive: Buffer): Unzipped {
  return unzipSync(archive, {
    filter: (file) => {
      if (file.originalSize > MAX_ENTRY_BYTES)
        throw new Error(`${file.name}: ${file.originalSize} bytes, more than a pack file may hold`);
      return true;
    },
  });
}

/**
 * Checks a pack offline: every file against the manifest's SHA-256, no file missing or added,
 * and the manifest's signature. With `trustedKey` the signer must be that key or one it rotated
 * to (signed rotations in the manifest); without it the manifest's own key is used and the
 * result says it was not pinned.
 */
export function verifyPack(archive: Buffer, trustedKey?: string): VerifyResult {
  const result: VerifyResult = {
    ok: false,
    problems: [],
    manifest: null,
    signedBy: null,
    pinned: trustedKey !== undefined,
    files: 0,
  };
  let entries: Unzipped;
  try {
    entries = unpack(archive);
  } catch (error) {
    result.problems.push(
      `the archive cannot be read (not a ZIP, truncated or damaged): ${(error as Error).message}`,
    );
    return result;
  }
  const manifestBytes = entries[MANIFEST_FILE];
  if (!manifestBytes) {
    result.problems.push(`${MANIFEST_FILE}: missing from the archive`);
    return result;
  }
  let manifest: EvidenceManifest;
  try {
    manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as EvidenceManifest;
  } catch {
    result.problems.push(`${MANIFEST_FILE}: not JSON (changed or damaged)`);
    return result;
  }
  if (manifest?.format !== EVIDENCE_FORMAT || typeof manifest.files !== 'object' || manifest.files === null) {
    result.problems.push(`${MANIFEST_FILE}: not a ${EVIDENCE_FORMAT} manifest`);
    return result;
  }
  result.manifest = manifest;
  const { signature, ...signed } = manifest;
  const signer = signature?.key;
  if (!isPublicKey(signer) || typeof signature?.value !== 'string')
    result.problems.push(`${MANIFEST_FILE}: carries no signature`);
  else {
    result.signedBy = signer;
    if (trustedKey !== undefined) {
      const followed = followRotations(trustedKey, manifest.keyRotations ?? []);
      if ('error' in followed) result.problems.push(`${MANIFEST_FILE}: ${followed.error}`);
      else if (!followed.keys.includes(signer))
        result.problems.push(
          `${MANIFEST_FILE}: signed by key ${signer}, not by the pinned key ${trustedKey} or a key it rotated to`,
        );
    }
    if (!verifyDocument(signer, signed, signature.value))
      result.problems.push(`${MANIFEST_FILE}: the signature does not match (the manifest was changed)`);
  }
  for (const [path, entry] of Object.entries(manifest.files)) {
    const data = entries[path];
    if (!isSafePath(path)) result.problems.push(`${path}: not a name a pack file may have`);
    else if (!data) result.problems.push(`${path}: listed in the manifest but missing from the archive`);
    else if (sha256Of(Buffer.from(data)) !== entry?.sha256)
      result.problems.push(`${path}: its SHA-256 differs from the manifest (the file was changed)`);
    else result.files++;
  }
  for (const path of Object.keys(entries))
    if (path !== MANIFEST_FILE && !Object.hasOwn(manifest.files, path))
      result.problems.push(`${path}: in the archive but not in the manifest (added)`);
  result.ok = result.problems.length === 0;
  return result;
}

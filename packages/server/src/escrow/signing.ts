import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalizeModule from 'canonicalize';

// CommonJS package whose typings declare an ES default export; at run time the module is the function.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/**
 * The service's deposit key (decision 0013): one Ed25519 key that signs every escrow manifest and
 * every audit checkpoint. Its public half is named by the raw 32 bytes in base64url (the JWK `x`).
 * The private key lives in the data dir, outside the database: whoever owns only the database
 * cannot sign. A rotation is a statement "from → to" signed by the old key, kept beside the key
 * and carried in every manifest, so an agent that pinned the old key follows it.
 */
export const DEPOSIT_KEY_FILE = 'deposit-key.pem';
export const DEPOSIT_KEY_ROTATIONS_FILE = 'deposit-key-rotations.json';
const ROTATION_FORMAT = 'brickless-deposit-key-rotation/1';
const PUBLIC_KEY = /^[A-Za-z0-9_-]{43}$/;

export interface KeyRotation {
  statement: { format: typeof ROTATION_FORMAT; from: string; to: string; at: string };
  /** Ed25519 by `from` over the canonical JSON of `statement`. */
  signature: string;
}

export interface DepositKey {
  /** The public key, base64url of the raw 32 bytes. */
  publicKey: string;
  privateKey: KeyObject;
  /** Every rotation up to this key, oldest first. */
  rotations: KeyRotation[];
}

/** The canonical bytes of a signed document (RFC 8785), independent of key order and spacing. */
export function canonicalBytes(value: unknown): Buffer {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('escrow: the document cannot be signed (not JSON)');
  return Buffer.from(text, 'utf8');
}

export function publicKeyOf(privateKey: KeyObject): string {
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  return String(jwk.x);
}

export function isPublicKey(value: unknown): value is string {
  return typeof value === 'string' && PUBLIC_KEY.test(value);
}

function keyObject(publicKey: string): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
}

export function signDocument(privateKey: KeyObject, document: unknown): string {
  return sign(null, canonicalBytes(document), privateKey).toString('base64');
}

/** True when `signature` is `publicKey`'s Ed25519 signature over the document; false for any malformed part. */
export function verifyDocument(publicKey: string, document: unknown, signature: unknown): boolean {
  if (!isPublicKey(publicKey) || typeof signature !== 'string') return false;
  try {
    return verify(null, canonicalBytes(document), keyObject(publicKey), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/**
 * Accepts a public key as given by an escrow agreement: the base64url key itself, or a file
 * holding it (alone, or as `publicKey` in JSON, or a PEM public key).
 */
export function parsePublicKey(value: string): string {
  const text = existsSync(value) ? readFileSync(value, 'utf8').trim() : value.trim();
  if (isPublicKey(text)) return text;
  try {
    const parsed = JSON.parse(text) as { publicKey?: unknown; key?: unknown };
    const candidate = parsed.publicKey ?? parsed.key;
    if (isPublicKey(candidate)) return candidate;
  } catch {
    // not JSON: try PEM below
  }
  try {
    const jwk = createPublicKey(text).export({ format: 'jwk' });
    if (jwk.crv === 'Ed25519' && isPublicKey(jwk.x)) return jwk.x;
  } catch {
    // fall through to the error
  }
  throw new Error(
    `escrow: ${JSON.stringify(value)} is not an Ed25519 deposit public key (43 base64url characters)`,
  );
}

/** Loads the data dir's deposit key, making one on first use (0600, never overwritten). */
export function loadDepositKey(dataDir: string, options: { create: boolean } = { create: true }): DepositKey {
  const file = join(dataDir, DEPOSIT_KEY_FILE);
  if (!existsSync(file)) {
    if (!options.create)
      throw new Error(`escrow: ${file} does not exist (no deposit was made from this data dir)`);
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`escrow: ${file} is not a private key: ${(error as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`escrow: ${file} is not an Ed25519 key`);
  const publicKey = publicKeyOf(privateKey);
  const rotations = readRotations(dataDir);
  const last = rotations.at(-1);
  if (last && last.statement.to !== publicKey)
    throw new Error(
      `escrow: ${join(dataDir, DEPOSIT_KEY_ROTATIONS_FILE)} ends at key ${last.statement.to}, but ${file} is ${publicKey}`,
    );
  return { publicKey, privateKey, rotations };
}

function readRotations(dataDir: string): KeyRotation[] {
  const file = join(dataDir, DEPOSIT_KEY_ROTATIONS_FILE);
  if (!existsSync(file)) return [];
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(parsed)) throw new Error('not a list');
    return parsed as KeyRotation[];
  } catch (error) {
    throw new Error(`escrow: ${file} is damaged: ${(error as Error).message}`);
  }
}

/**
 * Replaces the deposit key with a new one. The rotation statement is signed by the old key, so
 * an agent that pinned the old key accepts deposits signed by the new one; the old private key
 * is kept as `deposit-key.pem.<n>` (it may sign nothing new: the statement is public).
 */
export function rotateDepositKey(dataDir: string, at: Date): KeyRotation {
  const current = loadDepositKey(dataDir, { create: false });
  const { privateKey } = generateKeyPairSync('ed25519');
  const rotation = rotationStatement(current, privateKey, at);
  const file = join(dataDir, DEPOSIT_KEY_FILE);
  const rotationsFile = join(dataDir, DEPOSIT_KEY_ROTATIONS_FILE);
  writeFileSync(`${rotationsFile}.tmp`, `${JSON.stringify([...current.rotations, rotation], null, 1)}\n`, {
    mode: 0o600,
  });
  writeFileSync(`${file}.new`, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  renameSync(file, `${file}.${current.rotations.length + 1}`);
  renameSync(`${file}.new`, file);
  renameSync(`${rotationsFile}.tmp`, rotationsFile);
  return rotation;
}

/**
 * The statement "from → to", signed by the key rotated away from. The deposit key and the
 * organisations' evidence keys (evidence/org-key.ts) use the same statement, so one verifier
 * (`followRotations`) follows both; the keys differ, so a statement of one never chains the other.
 */
export function rotationStatement(current: DepositKey, next: KeyObject, at: Date): KeyRotation {
  const statement = {
    format: ROTATION_FORMAT,
    from: current.publicKey,
    to: publicKeyOf(next),
    at: at.toISOString(),
  } as const;
  return { statement, signature: signDocument(current.privateKey, statement) };
}

/**
 * Follows a rotation list from a trusted key: returns the key it ends at, or why it cannot be
 * followed. Rotations before `trusted` are skipped (an agent that pinned a later key); each one
 * after it must be signed by the key it rotates away from.
 */
export function followRotations(
  trusted: string,
  rotations: unknown,
): { key: string; keys: string[] } | { error: string } {
  if (!Array.isArray(rotations)) return { error: 'the key rotations are not a list' };
  let key = trusted;
  const keys = [trusted];
  const start = rotations.findIndex((r) => (r as KeyRotation)?.statement?.from === trusted);
  if (start < 0) return { key, keys };
  for (const rotation of rotations.slice(start) as KeyRotation[]) {
    const statement = rotation?.statement;
    if (statement?.format !== ROTATION_FORMAT || statement.from !== key || !isPublicKey(statement.to))
      return { error: `a key rotation does not continue from key ${key}` };
    if (!verifyDocument(key, statement, rotation.signature))
      return { error: `the rotation from key ${key} is not signed by that key` };
    key = statement.to;
    keys.push(key);
  }
  return { key, keys };
}

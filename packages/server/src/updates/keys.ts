import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Signature } from '@tufjs/models';

/**
 * TUF signing keys: Ed25519 (TUF 4.2 "ed25519" scheme), public value as 64 hex digits, key id
 * the SHA-256 of the canonical JSON of the public key object (TUF 4.2, KEYID). The same file
 * format serves the maker's offline keys (root, targets, escrow) and the server's online keys.
 */
export interface PublicKeyFile {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyid: string;
  keyval: { public: string };
  /** A label for people ("root-1 alice"); not part of the key id. */
  name?: string;
}

export interface PrivateKeyFile extends PublicKeyFile {
  /** PKCS#8 PEM. Only the file on the maker's machine holds it. */
  private: string;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function keyIdOf(publicHex: string): string {
  const body = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: publicHex } };
  return createHash('sha256').update(canonicalize(body)).digest('hex');
}

export function generateSigningKey(name?: string): PrivateKeyFile {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const publicHex = spki.subarray(ED25519_SPKI_PREFIX.length).toString('hex');
  return {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyid: keyIdOf(publicHex),
    keyval: { public: publicHex },
    ...(name ? { name } : {}),
    private: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

export function publicPart(key: PublicKeyFile): PublicKeyFile {
  return {
    keytype: key.keytype,
    scheme: key.scheme,
    keyid: key.keyid,
    keyval: { public: key.keyval.public },
    ...(key.name ? { name: key.name } : {}),
  };
}

/** Checks a parsed key file: the type, the public value, the key id, and the private half if any. */
export function parseKeyFile(value: unknown, source: string): PublicKeyFile | PrivateKeyFile {
  const v = value as Partial<PrivateKeyFile> | null;
  const fail = (why: string): never => {
    throw new Error(`${source}: not a brickless TUF key file (${why})`);
  };
  if (!v || typeof v !== 'object') return fail('not a JSON object');
  if (v.keytype !== 'ed25519' || v.scheme !== 'ed25519') return fail('keytype and scheme must be ed25519');
  const pub = v.keyval?.public;
  if (typeof pub !== 'string' || !/^[0-9a-f]{64}$/.test(pub))
    return fail('keyval.public must be 64 hex digits');
  if (v.keyid !== keyIdOf(pub)) return fail('keyid does not match the public key');
  const base: PublicKeyFile = {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyid: v.keyid,
    keyval: { public: pub },
  };
  if (typeof v.name === 'string') base.name = v.name;
  if (v.private === undefined) return base;
  if (typeof v.private !== 'string') return fail('private must be a PEM string');
  let derived: string;
  try {
    const spki = createPublicKey(createPrivateKey(v.private)).export({ format: 'der', type: 'spki' });
    derived = spki.subarray(ED25519_SPKI_PREFIX.length).toString('hex');
  } catch {
    return fail('private is not an Ed25519 PKCS#8 key');
  }
  if (derived !== pub) return fail('private key does not belong to the public key');
  return { ...base, private: v.private };
}

export function readKeyFile(path: string): PublicKeyFile | PrivateKeyFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not JSON`);
  }
  return parseKeyFile(json, path);
}

export function readPrivateKeyFile(path: string): PrivateKeyFile {
  const key = readKeyFile(path);
  if (!('private' in key))
    throw new Error(`${path}: holds only a public key; signing needs the private key file`);
  return key;
}

/** Writes a private key file readable by its owner only. */
export function writePrivateKeyFile(path: string, key: PrivateKeyFile): void {
  writeFileSync(path, `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

export function toTufKey(key: PublicKeyFile): Key {
  return new Key({
    keyID: key.keyid,
    keyType: 'ed25519',
    scheme: 'ed25519',
    keyVal: { public: key.keyval.public },
  });
}

/** A signer for `Metadata#sign`: signs the canonical JSON of `signed` (TUF 4.1). */
export function signerFor(key: PrivateKeyFile): (data: Buffer) => Signature {
  const privateKey = createPrivateKey(key.private);
  return (data) => new Signature({ keyID: key.keyid, sig: sign(null, data, privateKey).toString('hex') });
}

/** Public key from raw hex, for code that only verifies. */
export function publicKeyObject(publicHex: string) {
  return createPublicKey({
    key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(publicHex, 'hex')]),
    format: 'der',
    type: 'spki',
  });
}

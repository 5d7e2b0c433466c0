import { createPublicKey, verify } from 'node:crypto';
import { type EndpointRecord, endpointRecordProblems } from '@brickless/protocol';
import { canonicalize } from '@tufjs/canonical-json';

/** The parts of a TUF root (root.json) that say who may sign an endpoint record. */
interface RootDocument {
  signed: {
    _type: 'root';
    keys: Record<string, { keytype: string; scheme: string; keyval: { public: string } }>;
    roles: {
      root: { keyids: string[]; threshold: number };
      timestamp?: { keyids: string[]; threshold: number };
    };
  };
}

export type RecordVerdict =
  | { ok: true; record: EndpointRecord }
  | { ok: false; reason: string; message: string };

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Checks an endpoint record against a trusted TUF root: its shape, then that distinct root keys
 * of at least the root role's threshold signed the canonical JSON of `signed` (TUF 5.3.4 counts
 * root signatures the same way). Reasons are machine-readable: `malformed`, `untrusted-root`,
 * `signature-invalid`, `not-this-device`.
 *
 * A record that names devices (an owner's local mode, issue 18 §7) applies only to `deviceId`, and
 * may instead be signed by the threshold of the root's timestamp role: the server's online key,
 * which can thereby switch one owner's device to local mode and do nothing else. Without
 * `deviceId` such a record needs the root keys like any other.
 */
export function verifyEndpointRecord(
  value: unknown,
  trustedRoot: string | Buffer | object,
  options: { deviceId?: string } = {},
): RecordVerdict {
  const problems = endpointRecordProblems(value);
  if (problems.length > 0) return { ok: false, reason: 'malformed', message: problems.join('; ') };
  const record = value as EndpointRecord;
  let root: RootDocument;
  try {
    root = (
      typeof trustedRoot === 'object' && !Buffer.isBuffer(trustedRoot)
        ? trustedRoot
        : JSON.parse(trustedRoot.toString())
    ) as RootDocument;
  } catch {
    return { ok: false, reason: 'untrusted-root', message: 'the trusted root is not JSON' };
  }
  const role = root?.signed?.roles?.root;
  if (
    root?.signed?._type !== 'root' ||
    !role ||
    !Array.isArray(role.keyids) ||
    !Number.isInteger(role.threshold) ||
    role.threshold < 1
  )
    return { ok: false, reason: 'untrusted-root', message: 'the trusted root has no root role' };
  const scoped = record.signed.devices;
  if (scoped && options.deviceId !== undefined) {
    if (scoped[0] !== options.deviceId)
      return { ok: false, reason: 'not-this-device', message: 'the record is for another device' };
    const timestamp = root.signed.roles.timestamp;
    if (thresholdMet(record, root, timestamp, Buffer.from(canonicalize(record.signed))))
      return { ok: true, record };
  }
  const message = Buffer.from(canonicalize(record.signed));
  const valid = validSigners(record, root, role, message);
  if (valid.size < role.threshold)
    return {
      ok: false,
      reason: 'signature-invalid',
      message: `${valid.size} valid root signature(s), the root threshold is ${role.threshold}`,
    };
  return { ok: true, record };
}

function thresholdMet(
  record: EndpointRecord,
  root: RootDocument,
  role: { keyids: string[]; threshold: number } | undefined,
  message: Buffer,
): boolean {
  if (!role || !Array.isArray(role.keyids) || !Number.isInteger(role.threshold) || role.threshold < 1)
    return false;
  return validSigners(record, root, role, message).size >= role.threshold;
}

/** The distinct keys of `role` whose signature over `message` is valid. */
function validSigners(
  record: EndpointRecord,
  root: RootDocument,
  role: { keyids: string[] },
  message: Buffer,
): Set<string> {
  const valid = new Set<string>();
  for (const signature of record.signatures) {
    if (valid.has(signature.keyid) || !role.keyids.includes(signature.keyid)) continue;
    const key = root.signed.keys[signature.keyid];
    if (key?.keytype !== 'ed25519' || !/^[0-9a-f]{64}$/.test(key.keyval?.public ?? '')) continue;
    const publicKey = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(key.keyval.public, 'hex')]),
      format: 'der',
      type: 'spki',
    });
    try {
      if (verify(null, message, publicKey, Buffer.from(signature.sig, 'hex'))) valid.add(signature.keyid);
    } catch {
      // a signature of the wrong length: not valid, and not a crash
    }
  }
  return valid;
}

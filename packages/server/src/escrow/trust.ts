import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  type DepositManifest,
  type LocatedDeposit,
  locateDeposit,
  manifestHeads,
  signedPart,
} from './manifest.js';
import { followRotations, isPublicKey, verifyDocument } from './signing.js';

/**
 * What the escrow agent remembers between verifications (decision 0013), like borg's security
 * directory: the deposit key it trusts and the newest deposit it has verified. With it, a
 * manifest signed by another key, a rewritten chain, and an older deposit presented as the
 * latest (a replay or rollback) are refused.
 */
export interface Pin {
  format: 'brickless-escrow-pin/1';
  key: string;
  deposit: { id: string; sequence: number; sha256: string } | null;
  updatedAt: string;
}

export interface TrustOptions {
  /** The pin file: read when present, written after a deposit passed every check. */
  pinFile?: string;
  /** A deposit key from the escrow agreement: trusted instead of the pin's key. */
  depositKey?: string;
  /** True when the caller asked for this deposit by id (an older one may be restored on purpose). */
  explicit?: boolean;
}

export interface TrustCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface TrustResult {
  checks: TrustCheck[];
  /** The heads of the deposit before this one, when there is one: its data must extend them. */
  previousHeads: Map<string, { seq: number; hash: string }> | null;
  /** Writes the pin (call only when every check of the deposit passed). */
  commit(now: Date): void;
}

export function readPin(file: string): Pin | null {
  if (!existsSync(file)) return null;
  let pin: Pin;
  try {
    pin = JSON.parse(readFileSync(file, 'utf8')) as Pin;
  } catch {
    throw new Error(`escrow: the pin file ${file} is not JSON`);
  }
  if (pin?.format !== 'brickless-escrow-pin/1' || !isPublicKey(pin.key))
    throw new Error(`escrow: ${file} is not a brickless escrow pin file`);
  return pin;
}

function writePin(file: string, pin: Pin): void {
  writeFileSync(`${file}.tmp`, `${JSON.stringify(pin, null, 1)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** Heads of `before` that `after` does not extend: a chain gone, shorter, or forked at the same size. */
export function headsBehind(
  before: Map<string, { seq: number; hash: string }>,
  after: Map<string, { seq: number; hash: string }>,
): string[] {
  const behind: string[] = [];
  for (const [chain, head] of before) {
    const now = after.get(chain);
    if (!now) behind.push(`chain ${chain} (${head.seq} entries before) is gone`);
    else if (now.seq < head.seq)
      behind.push(`chain ${chain} went back from ${head.seq} to ${now.seq} entries`);
    else if (now.seq === head.seq && now.hash !== head.hash)
      behind.push(`chain ${chain} has a different entry ${head.seq} than before`);
  }
  return behind;
}

/**
 * Checks who signed a deposit and where it sits in the chain of deposits: the manifest's
 * signature, that the signing key is the trusted one (or a rotation of it signed by it), that
 * every earlier manifest back to the one the agent pinned (or to the first) is signed, hashes to
 * what its successor names, has the sequence before it and audit heads its successor extends.
 */
export function checkTrust(located: LocatedDeposit, options: TrustOptions): TrustResult {
  const { manifest } = located;
  const checks: TrustCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const pin = options.pinFile ? readPin(options.pinFile) : null;
  const trusted = options.depositKey ?? pin?.key ?? null;
  let previousHeads: Map<string, { seq: number; hash: string }> | null = null;

  // The signature over the manifest, by the key it names.
  const signature = manifest.signature;
  const signer = isPublicKey(signature?.key) ? signature.key : null;
  if (!signature || !signer) add('signature', false, 'the manifest is not signed');
  else if (!verifyDocument(signer, signedPart(manifest), signature.value))
    add('signature', false, 'the manifest does not match its signature (altered after it was signed)');
  else add('signature', true, `signed by deposit key ${signer}`);

  // The key: the trusted one, or reached from it by rotations each signed by the key before.
  let keys: Set<string>;
  if (trusted) {
    const followed = followRotations(trusted, manifest.keyRotations);
    // Earlier deposits may be signed by keys the trusted one replaced: accepted when the whole
    // rotation list, from its first key, is a valid chain through the trusted key.
    const history = followRotations(
      manifest.keyRotations[0]?.statement?.from ?? trusted,
      manifest.keyRotations,
    );
    const ancestors = 'error' in history || !history.keys.includes(trusted) ? [] : history.keys;
    if ('error' in followed) {
      add('deposit key', false, followed.error);
      keys = new Set([trusted]);
    } else {
      keys = new Set([...ancestors, ...followed.keys]);
      if (signer !== followed.key)
        add(
          'deposit key',
          false,
          `signed by key ${signer ?? '(none)'}, not by the pinned key ${trusted}${followed.keys.length > 1 ? ` or its rotation to ${followed.key}` : ''}`,
        );
      else
        add(
          'deposit key',
          true,
          followed.keys.length > 1
            ? `the pinned key ${trusted} rotated to ${signer} by statements signed with the key before`
            : `the pinned key ${trusted}`,
        );
    }
  } else {
    // Trust on first use: the oldest key of the rotation list, followed to the signer.
    const first = manifest.keyRotations[0]?.statement?.from ?? signer ?? '';
    const followed = followRotations(first, manifest.keyRotations);
    keys = new Set('error' in followed ? [] : followed.keys);
    const ok = !('error' in followed) && signer === followed.key;
    add(
      'deposit key',
      ok,
      ok
        ? `not pinned before: key ${signer} is trusted from now on${options.pinFile ? ` (${options.pinFile})` : ' (give --identity or --pin to keep it)'}`
        : `the key rotations do not lead to the signing key ${signer}`,
    );
  }

  // The chain of deposits, walked back to the pinned deposit or to the first.
  const chainProblems: string[] = [];
  const pinned = pin?.deposit ?? null;
  if (pinned && manifest.sequence < pinned.sequence && !options.explicit)
    chainProblems.push(
      `the latest deposit is ${manifest.id} (sequence ${manifest.sequence}), but the agent already verified deposit ${pinned.id} (sequence ${pinned.sequence}): deposits were rolled back or an older one replayed`,
    );
  // Walk from the deposit down to the pinned one; for an explicitly chosen older deposit, from
  // the pinned one down to it (it must be an ancestor of what the agent verified).
  let current: LocatedDeposit = located;
  let stop = pinned ? { sequence: pinned.sequence, sha256: pinned.sha256 } : null;
  if (pinned && manifest.sequence < pinned.sequence && options.explicit) {
    stop = { sequence: manifest.sequence, sha256: located.manifestSha256 };
    try {
      current = locateDeposit(located.escrowDir, pinned.id);
      if (current.manifestSha256 !== pinned.sha256)
        chainProblems.push(`deposit ${pinned.id} changed after the agent verified it`);
    } catch (error) {
      chainProblems.push(`the pinned deposit ${pinned.id}: ${(error as Error).message}`);
    }
  }
  if (pinned && manifest.sequence < pinned.sequence && !options.explicit) stop = null;
  let steps = 0;
  while (chainProblems.length <= 20 && ++steps < 1_000_000) {
    const m: DepositManifest = current.manifest;
    if (stop && m.sequence === stop.sequence) {
      if (current.manifestSha256 !== stop.sha256)
        chainProblems.push(
          current === located || m.sequence === pinned?.sequence
            ? `deposit ${m.id} is not the deposit the agent verified with sequence ${m.sequence} (the chain was rewritten)`
            : `deposit ${manifest.id} is not on the chain of the pinned deposit`,
        );
      break;
    }
    if (m.previous === null) {
      if (m.sequence !== 1)
        chainProblems.push(`deposit ${m.id} has sequence ${m.sequence} but no previous deposit`);
      if (stop) chainProblems.push(`the chain does not reach deposit sequence ${stop.sequence}`);
      break;
    }
    let previous: LocatedDeposit;
    try {
      previous = locateDeposit(located.escrowDir, m.previous.id);
    } catch (error) {
      chainProblems.push(
        `deposit ${m.id} names previous deposit ${m.previous.id}: ${(error as Error).message}`,
      );
      break;
    }
    const p = previous.manifest;
    if (previous.manifestSha256 !== m.previous.sha256)
      chainProblems.push(`deposit ${p.id} was altered after deposit ${m.id} named it`);
    if (p.sequence !== m.sequence - 1)
      chainProblems.push(`deposit ${m.id} (sequence ${m.sequence}) follows ${p.id} (sequence ${p.sequence})`);
    const pSigner = p.signature?.key;
    if (!pSigner || !keys.has(pSigner) || !verifyDocument(pSigner, signedPart(p), p.signature?.value))
      chainProblems.push(`deposit ${p.id} is not signed by the trusted deposit key`);
    const behind = headsBehind(manifestHeads(p), manifestHeads(m));
    if (behind.length > 0)
      chainProblems.push(
        `the audit heads of deposit ${m.id} are behind deposit ${p.id}: ${behind.join('; ')}`,
      );
    current = previous;
  }
  if (manifest.previous) {
    try {
      previousHeads = manifestHeads(locateDeposit(located.escrowDir, manifest.previous.id).manifest);
    } catch {
      // reported by the walk
    }
  }
  add(
    'deposit chain',
    chainProblems.length === 0,
    chainProblems.length
      ? chainProblems.join('; ')
      : manifest.previous
        ? `follows deposit ${manifest.previous.id}${pinned ? `, back to the pinned deposit ${pinned.id}` : ', back to the first deposit'}; audit heads only grow`
        : 'the first deposit',
  );

  return {
    checks,
    previousHeads,
    commit(now) {
      if (!options.pinFile || !signer) return;
      const keep = pin && pinned && pinned.sequence > manifest.sequence;
      writePin(options.pinFile, {
        format: 'brickless-escrow-pin/1',
        key: keep ? pin.key : signer,
        deposit: keep
          ? pinned
          : { id: manifest.id, sequence: manifest.sequence, sha256: located.manifestSha256 },
        updatedAt: now.toISOString(),
      });
    },
  };
}

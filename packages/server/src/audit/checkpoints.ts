import type { KeyObject } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isPublicKey, type KeyRotation, signDocument, verifyDocument } from '../escrow/signing.js';
import type { Executor } from '../store/transaction.js';

/**
 * Signed checkpoints of the audit chains, like a Certificate Transparency signed tree head
 * (RFC 6962 §3.5): "chain C had `size` entries and its last one hashed to `head`, at `at`",
 * signed with the service's deposit key. They are kept where the database's owner cannot rewrite
 * them (the data dir's append-only log, every escrow deposit, the agent's copy), so a chain cut
 * at the end, rolled back, or deleted whole no longer verifies against them (decision 0013).
 */
export const CHECKPOINT_FORMAT = 'brickless-audit-checkpoint/1';
/** The append-only checkpoint log in the data dir. */
export const CHECKPOINT_LOG = 'audit-checkpoints.jsonl';
/** A set of checkpoints as `serve` publishes it (audit/publisher.ts). */
export const PUBLISHED_FORMAT = 'brickless-audit-checkpoints/1';

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  chain: string;
  size: number;
  head: string;
  at: string;
  /** The signing key (base64url Ed25519). */
  key: string;
}

export interface SignedCheckpoint {
  checkpoint: Checkpoint;
  signature: string;
}

export interface CheckpointProblem {
  chain: string;
  problem: string;
}

/** The current head of every chain, as the audit_heads table says. */
export async function currentHeads(db: Executor): Promise<Map<string, { seq: number; hash: string }>> {
  const rows = await db.selectFrom('audit_heads').select(['chain', 'seq', 'hash']).orderBy('chain').execute();
  return new Map(rows.map((r) => [r.chain, { seq: Number(r.seq), hash: r.hash }]));
}

export function signCheckpoints(
  heads: Map<string, { seq: number; hash: string }>,
  key: { publicKey: string; privateKey: KeyObject },
  at: Date,
): SignedCheckpoint[] {
  return [...heads].map(([chain, head]) => {
    const checkpoint: Checkpoint = {
      format: CHECKPOINT_FORMAT,
      chain,
      size: head.seq,
      head: head.hash,
      at: at.toISOString(),
      key: key.publicKey,
    };
    return { checkpoint, signature: signDocument(key.privateKey, checkpoint) };
  });
}

/** Appends checkpoints to a log file (one JSON object a line); the file is only ever appended to. */
export function appendCheckpoints(file: string, checkpoints: SignedCheckpoint[]): void {
  if (checkpoints.length === 0) return;
  appendFileSync(file, checkpoints.map((c) => `${JSON.stringify(c)}\n`).join(''), { mode: 0o600 });
}

export interface CheckpointSource {
  checkpoints: SignedCheckpoint[];
  /** Deposit key rotations found beside them (in escrow manifests). */
  rotations: KeyRotation[];
  /** Lines or files that are not checkpoints: reported, never used. */
  unreadable: string[];
}

/**
 * Reads checkpoints from a checkpoint log (JSONL), a set saved from a server's public checkpoint
 * path (one JSON document, or one a line when a witness appends every set it fetches), or an
 * escrow directory: the signed checkpoints every deposit manifest carries.
 */
export function readCheckpoints(path: string): CheckpointSource {
  if (!existsSync(path)) throw new Error(`audit: ${path} does not exist`);
  const source: CheckpointSource = { checkpoints: [], rotations: [], unreadable: [] };
  if (statSync(path).isDirectory()) {
    const deposits = join(path, 'deposits');
    if (!existsSync(deposits))
      throw new Error(`audit: ${path} is neither a checkpoint log nor an escrow directory`);
    for (const id of readdirSync(deposits).sort()) {
      const file = join(deposits, id, 'manifest.json');
      try {
        const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
          audit?: { checkpoints?: unknown };
          keyRotations?: unknown;
        };
        const list = manifest.audit?.checkpoints;
        if (!Array.isArray(list)) throw new Error('no checkpoints');
        source.checkpoints.push(...(list as SignedCheckpoint[]));
        addRotations(source, manifest.keyRotations);
      } catch (error) {
        source.unreadable.push(`deposit ${id}: ${(error as Error).message}`);
      }
    }
    return source;
  }
  return parseCheckpoints(readFileSync(path, 'utf8'));
}

/** Parses a checkpoint log, or one or more published sets (see readCheckpoints). */
export function parseCheckpoints(text: string): CheckpointSource {
  const source: CheckpointSource = { checkpoints: [], rotations: [], unreadable: [] };
  const add = (value: unknown): void => {
    const set = value as { format?: unknown; checkpoints?: unknown; keyRotations?: unknown } | null;
    if (set?.format === PUBLISHED_FORMAT && Array.isArray(set.checkpoints)) {
      source.checkpoints.push(...(set.checkpoints as SignedCheckpoint[]));
      addRotations(source, set.keyRotations);
    } else source.checkpoints.push(value as SignedCheckpoint);
  };
  try {
    // A set saved pretty-printed spans many lines: take the text whole first.
    add(JSON.parse(text));
    return source;
  } catch {
    // Not one document: a log, one JSON object a line.
  }
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    try {
      add(JSON.parse(line));
    } catch {
      source.unreadable.push(`line ${index + 1} is not JSON`);
    }
  });
  return source;
}

/** The most a published set may weigh: about half a million chains' checkpoints. */
const MAX_PUBLISHED_BYTES = 256 * 1024 ** 2;

/** Keeps the longest rotation list seen: each one extends the one before. */
function addRotations(source: CheckpointSource, rotations: unknown): void {
  if (Array.isArray(rotations) && rotations.length > source.rotations.length)
    source.rotations = rotations as KeyRotation[];
}

/**
 * Fetches the set a server publishes (`GET /.well-known/brickless/audit-checkpoints`). The
 * server's own answer proves nothing by itself: what counts is that every checkpoint is signed by
 * a trusted key, and that copies fetched earlier by a witness still agree with the log.
 */
export async function fetchCheckpoints(url: string, timeoutMs = 30_000): Promise<CheckpointSource> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (error) {
    throw new Error(`audit: cannot fetch ${url}: ${(error as Error).message}`);
  }
  if (!response.ok) throw new Error(`audit: ${url} answered ${response.status} ${response.statusText}`);
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_PUBLISHED_BYTES) throw new Error(`audit: ${url} is larger than a checkpoint set can be`);
  const text = await response.text();
  if (text.length > MAX_PUBLISHED_BYTES)
    throw new Error(`audit: ${url} is larger than a checkpoint set can be`);
  let set: { format?: unknown };
  try {
    set = JSON.parse(text) as { format?: unknown };
  } catch {
    throw new Error(`audit: ${url} did not answer with JSON`);
  }
  if (set?.format !== PUBLISHED_FORMAT)
    throw new Error(`audit: ${url} is not a set of audit checkpoints (${PUBLISHED_FORMAT})`);
  return parseCheckpoints(text);
}

/** What a checkpoint is checked against: the log as it is now. */
export interface ChainLookup {
  /** The chain's head as its head row says, or null when it has none. */
  head(chain: string): Promise<{ seq: number; hash: string } | null>;
  /** The stored hash of entry `seq`, or null when there is no such entry. */
  entryHash(chain: string, seq: number): Promise<string | null>;
}

export function databaseLookup(db: Executor): ChainLookup {
  return {
    async head(chain) {
      const row = await db
        .selectFrom('audit_heads')
        .select(['seq', 'hash'])
        .where('chain', '=', chain)
        .executeTakeFirst();
      return row ? { seq: Number(row.seq), hash: row.hash } : null;
    },
    async entryHash(chain, seq) {
      const row = await db
        .selectFrom('audit_entries')
        .select('hash')
        .where('chain', '=', chain)
        .where('seq', '=', seq)
        .executeTakeFirst();
      return row?.hash ?? null;
    },
  };
}

function wellFormed(c: SignedCheckpoint): boolean {
  const p = c?.checkpoint;
  return (
    p?.format === CHECKPOINT_FORMAT &&
    typeof p.chain === 'string' &&
    Number.isSafeInteger(p.size) &&
    p.size >= 0 &&
    typeof p.head === 'string' &&
    /^[0-9a-f]{64}$/.test(p.head) &&
    typeof p.at === 'string' &&
    isPublicKey(p.key)
  );
}

/**
 * Checks the log against checkpoints signed by a trusted key: every chain a checkpoint names
 * still exists, is at least as long, and its entry at the checkpointed size still hashes to the
 * checkpointed head (with the chain's own verification, that proves the checkpointed prefix is
 * unchanged, as a CT consistency check does). Checkpoints of one chain must never shrink over
 * time either. Checkpoints with a bad or untrusted signature are reported and not used.
 */
export async function checkAgainstCheckpoints(
  source: CheckpointSource,
  trustedKeys: ReadonlySet<string>,
  lookup: ChainLookup,
): Promise<{ problems: CheckpointProblem[]; checked: number; chains: number }> {
  const problems: CheckpointProblem[] = source.unreadable.map((u) => ({ chain: '-', problem: u }));
  const byChain = new Map<string, Checkpoint[]>();
  for (const signed of source.checkpoints) {
    if (!wellFormed(signed)) {
      problems.push({ chain: '-', problem: 'a checkpoint is malformed' });
      continue;
    }
    const c = signed.checkpoint;
    if (!trustedKeys.has(c.key) || !verifyDocument(c.key, c, signed.signature)) {
      problems.push({
        chain: c.chain,
        problem: `the checkpoint of ${c.at} (size ${c.size}) is not signed by a trusted deposit key`,
      });
      continue;
    }
    byChain.set(c.chain, [...(byChain.get(c.chain) ?? []), c]);
  }
  let checked = 0;
  for (const [chain, list] of byChain) {
    list.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.size - b.size));
    // Consistency among the checkpoints themselves: a chain only grows.
    for (let i = 1; i < list.length; i++) {
      const before = list[i - 1] as Checkpoint;
      const after = list[i] as Checkpoint;
      if (after.size < before.size)
        problems.push({
          chain,
          problem: `the checkpoint of ${after.at} says ${after.size} entries, fewer than ${before.size} on ${before.at} (the log was rolled back)`,
        });
      else if (after.size === before.size && after.head !== before.head)
        problems.push({
          chain,
          problem: `two checkpoints of size ${after.size} name different heads (the log was rewritten)`,
        });
    }
    const head = await lookup.head(chain);
    const largest = list.reduce((a, b) => (b.size > a.size ? b : a));
    if (head === null && (await lookup.entryHash(chain, 1)) === null) {
      if (largest.size > 0)
        problems.push({
          chain,
          problem: `the chain is gone: the checkpoint of ${largest.at} says it had ${largest.size} entries`,
        });
      continue;
    }
    if (head !== null && head.seq < largest.size)
      problems.push({
        chain,
        problem: `the chain ends at entry ${head.seq}, but the checkpoint of ${largest.at} says ${largest.size} (entries cut off the end, or the head rolled back)`,
      });
    const seen = new Set<number>();
    for (const c of list) {
      if (c.size === 0 || seen.has(c.size)) continue;
      seen.add(c.size);
      checked++;
      const stored = await lookup.entryHash(chain, c.size);
      if (stored === null) {
        if (head === null || head.seq >= c.size)
          problems.push({ chain, problem: `entry ${c.size}, checkpointed on ${c.at}, is missing` });
        continue;
      }
      if (stored !== c.head)
        problems.push({
          chain,
          problem: `entry ${c.size} does not hash to the head checkpointed on ${c.at} (history rewritten)`,
        });
    }
  }
  return { problems, checked, chains: byChain.size };
}

import { join } from 'node:path';
import type { Clock } from '../clock.js';
import { type KeyRotation, loadDepositKey } from '../escrow/signing.js';
import { every } from '../jobs.js';
import type { Executor } from '../store/transaction.js';
import {
  appendCheckpoints,
  CHECKPOINT_LOG,
  currentHeads,
  PUBLISHED_FORMAT,
  type SignedCheckpoint,
  signCheckpoints,
} from './checkpoints.js';
import type { AuditLog } from './service.js';

export { PUBLISHED_FORMAT };

/**
 * Publishing the signed checkpoints (issue 14 §3, decision 0013): `serve` signs a checkpoint of
 * every audit chain on a schedule, appends the changed ones to the data dir's checkpoint log, and
 * serves the latest set at a public path. An outside witness (an escrow agent, a monitor) fetches
 * and keeps them, as Certificate Transparency monitors keep signed tree heads (RFC 6962 §3.5):
 * once a copy is out of the operator's hands, the database's owner can no longer cut, roll back
 * or rewrite a chain unseen.
 */
/** Where the latest checkpoints are served, without a token. */
export const PUBLISHED_PATH = '/.well-known/brickless/audit-checkpoints';

export interface PublishedCheckpoints {
  format: typeof PUBLISHED_FORMAT;
  /** When this set was signed. */
  publishedAt: string;
  /** The deposit public key that signed them (base64url Ed25519). */
  key: string;
  /** Every rotation up to `key`, each signed by the key before: a witness pinned to an older key follows them. */
  keyRotations: KeyRotation[];
  /** The latest checkpoint of every chain. */
  checkpoints: SignedCheckpoint[];
}

/**
 * The set a running service publishes, per audit log instance (one per app): the route reads
 * it, the schedule writes it. In memory only: the data dir's log is the durable record, and a
 * restart signs a fresh set at once.
 */
const published = new WeakMap<AuditLog, PublishedCheckpoints>();

/** The latest set this app published, or null when it publishes none (schedule off). */
export function latestPublished(audit: AuditLog): PublishedCheckpoints | null {
  return published.get(audit) ?? null;
}

export interface CheckpointPublisher {
  /** Signs, appends and publishes once now (the schedule calls it; tests may too). */
  runNow(): Promise<PublishedCheckpoints>;
  stop(): void;
}

/**
 * Starts the checkpoint schedule of `serve` (config `audit.checkpointIntervalMinutes`): one set at
 * start, then one every interval; 0 turns publishing off. The deposit key is read at every run,
 * so a `brickless escrow rotate-key` takes effect at the next one (its rotation is published with
 * the set). Only chains whose head moved since the last run are appended to the data dir's log, so
 * a quiet service does not grow it; the published set is re-signed every time, so its time says
 * how fresh it is.
 */
export function startCheckpointPublisher(
  services: { store: { db: Executor }; audit: AuditLog; clock: Clock },
  options: { dataDir: string; intervalMinutes: number },
  onError: (error: unknown) => void,
): CheckpointPublisher {
  const file = join(options.dataDir, CHECKPOINT_LOG);
  const appended = new Map<string, string>();
  const run = async (): Promise<PublishedCheckpoints> => {
    const key = loadDepositKey(options.dataDir);
    const at = services.clock.now();
    const signed = signCheckpoints(await currentHeads(services.store.db), key, at);
    const changed = signed.filter(
      (s) => appended.get(s.checkpoint.chain) !== `${s.checkpoint.size} ${s.checkpoint.head}`,
    );
    appendCheckpoints(file, changed);
    for (const s of changed) appended.set(s.checkpoint.chain, `${s.checkpoint.size} ${s.checkpoint.head}`);
    const set: PublishedCheckpoints = {
      format: PUBLISHED_FORMAT,
      publishedAt: at.toISOString(),
      key: key.publicKey,
      keyRotations: key.rotations,
      checkpoints: signed,
    };
    published.set(services.audit, set);
    return set;
  };
  // One run at a time, whoever asks: two at once would both append the same changed chains.
  let queue: Promise<unknown> = Promise.resolve();
  const runNow = (): Promise<PublishedCheckpoints> => {
    const next = queue.then(run, run);
    queue = next.catch(() => {});
    return next;
  };
  if (options.intervalMinutes <= 0) return { runNow, stop: () => {} };
  runNow().catch(onError);
  const timer = every(options.intervalMinutes * 60_000, runNow, onError);
  return {
    runNow,
    stop: () => {
      clearInterval(timer);
      published.delete(services.audit);
    },
  };
}

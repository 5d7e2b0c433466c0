import {
  Metadata,
  MetadataKind,
  MetaFile,
  type Root,
  Snapshot,
  type TargetFile,
  Targets,
  Timestamp,
} from '@tufjs/models';
import { invalid } from '../errors.js';
import type { PublicKeyFile } from './keys.js';

/** The TUF specification version our metadata declares (TUF 4.3, spec_version). */
export const SPEC_VERSION = '1.0.31';
/** Root-level field naming the escrow (successor) keys among the root keys; signed like the rest. */
export const ESCROW_FIELD = 'x-brickless-escrow-keyids';

export interface RootPlan {
  version: number;
  expires: Date;
  rootKeys: PublicKeyFile[];
  rootThreshold: number;
  targetsKeys: PublicKeyFile[];
  targetsThreshold: number;
  /** The successor's keys: root keys like the others, named as escrow in the signed root. */
  escrowKeys: PublicKeyFile[];
  snapshotKey: PublicKeyFile;
  timestampKey: PublicKeyFile;
}

export type Json = Record<string, unknown>;

/**
 * The longest lifetime a maker may give root or targets metadata, in days (ten years). TUF leaves
 * it to the repository (TUF 4.3 "expires"); a device offline for longer still walks the root
 * chain (TUF 5.3.10 checks only the newest root's expiry), so nothing needs longer.
 */
export const MAX_EXPIRES_DAYS = 3650;

/**
 * Checks an `--expires-days` (or `expiresInDays`) value: a whole number of days from 1 to
 * MAX_EXPIRES_DAYS. Text such as "30" is accepted as the CLI passes it; "30.5", "1e3", "0",
 * "-1", "" and "forever" are not.
 */
export function expiresDays(value: unknown, name = '--expires-days'): number {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > MAX_EXPIRES_DAYS)
    throw invalid(
      name,
      `must be a whole number of days from 1 to ${MAX_EXPIRES_DAYS}, not ${JSON.stringify(value)}`,
    );
  return Number(text);
}

/** TUF expiry strings carry whole seconds: `2027-01-01T00:00:00Z` (TUF 4.3, "expires"). */
export function tufTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

/** An unsigned root built from a plan; consistent snapshots on (TUF 7, consistent snapshots). */
export function buildRoot(plan: RootPlan): Metadata<Root> {
  const rootKeys = [...plan.rootKeys, ...plan.escrowKeys];
  if (plan.rootThreshold < 1 || plan.rootThreshold > rootKeys.length)
    throw invalid('rootThreshold', `must be between 1 and the number of root keys (${rootKeys.length})`);
  if (plan.targetsThreshold < 1 || plan.targetsThreshold > plan.targetsKeys.length)
    throw invalid(
      'targetsThreshold',
      `must be between 1 and the number of targets keys (${plan.targetsKeys.length})`,
    );
  const distinct = (keys: PublicKeyFile[], name: string) => {
    if (new Set(keys.map((k) => k.keyid)).size !== keys.length)
      throw invalid(name, 'the same key is listed twice');
  };
  distinct(rootKeys, 'rootKeys');
  distinct(plan.targetsKeys, 'targetsKeys');
  const keys: Record<string, unknown> = {};
  const role = (members: PublicKeyFile[], threshold: number) => {
    for (const key of members)
      keys[key.keyid] = { keytype: key.keytype, scheme: key.scheme, keyval: { public: key.keyval.public } };
    return { keyids: members.map((k) => k.keyid), threshold };
  };
  const signed = {
    _type: 'root',
    spec_version: SPEC_VERSION,
    version: plan.version,
    expires: tufTime(plan.expires),
    consistent_snapshot: true,
    roles: {
      root: role(rootKeys, plan.rootThreshold),
      targets: role(plan.targetsKeys, plan.targetsThreshold),
      snapshot: role([plan.snapshotKey], 1),
      timestamp: role([plan.timestampKey], 1),
    },
    keys,
    ...(plan.escrowKeys.length ? { [ESCROW_FIELD]: plan.escrowKeys.map((k) => k.keyid) } : {}),
  };
  return Metadata.fromJSON(MetadataKind.Root, { signed, signatures: [] } as never);
}

/** Parses metadata of the expected type, or explains in one line why it is not. */
export function parseMetadata<K extends MetadataKind>(
  kind: K,
  json: unknown,
): Metadata<K extends MetadataKind.Root ? Root : K extends MetadataKind.Targets ? Targets : never> {
  const signed = (json as { signed?: { _type?: unknown } } | null)?.signed;
  if (!json || typeof json !== 'object' || !signed || signed._type !== kind)
    throw invalid('metadata', `expected signed ${kind} metadata`);
  try {
    // biome-ignore lint/suspicious/noExplicitAny: the overloads of fromJSON are per kind.
    return Metadata.fromJSON(kind as any, json as any) as never;
  } catch (error) {
    throw invalid('metadata', `not valid ${kind} metadata: ${(error as Error).message}`);
  }
}

/** Does `signer`'s `role` threshold hold over `metadata`? (TUF 5.3.4, 5.4.2 verification) */
export function thresholdMet(
  signer: Metadata<Root>,
  role: 'root' | 'targets',
  metadata: Metadata<Root | Targets>,
): boolean {
  try {
    signer.verifyDelegate(role, metadata);
    return true;
  } catch {
    return false;
  }
}

/**
 * The checks a new root must pass before it is published (TUF 5.3.4, 5.3.5): the next version,
 * signed by a threshold of the trusted root's root keys and of its own, not yet expired.
 * The first root (version 1) is checked against itself.
 */
export function checkRootTransition(trusted: Metadata<Root> | null, next: Metadata<Root>, now: Date): void {
  const expected = trusted ? trusted.signed.version + 1 : 1;
  if (next.signed.version !== expected)
    throw invalid(
      'version',
      `the next root must be version ${expected}, this is version ${next.signed.version}`,
    );
  if (trusted && !thresholdMet(trusted, 'root', next))
    throw invalid('signatures', 'not signed by a threshold of the current root keys (TUF 5.3.4)');
  if (!thresholdMet(next, 'root', next))
    throw invalid('signatures', 'not signed by a threshold of its own root keys (TUF 5.3.4)');
  if (next.signed.isExpired(now)) throw invalid('expires', 'this root has already expired');
  if (!next.signed.consistentSnapshot)
    throw invalid(
      'consistent_snapshot',
      'brickless serves consistent snapshots; set consistent_snapshot true',
    );
}

export function buildTargets(version: number, expires: Date, targets: TargetFile[]): Metadata<Targets> {
  const signed = new Targets({ version, specVersion: SPEC_VERSION, expires: tufTime(expires) });
  for (const target of targets) signed.addTarget(target);
  return new Metadata(signed);
}

/** Snapshot lists the targets version (TUF 4.4); timestamp pins the snapshot (TUF 4.6). */
export function buildSnapshot(version: number, expires: Date, targetsVersion: number): Metadata<Snapshot> {
  return new Metadata(
    new Snapshot({
      version,
      specVersion: SPEC_VERSION,
      expires: tufTime(expires),
      meta: { 'targets.json': new MetaFile({ version: targetsVersion }) },
    }),
  );
}

export function buildTimestamp(version: number, expires: Date, snapshotVersion: number): Metadata<Timestamp> {
  return new Metadata(
    new Timestamp({
      version,
      specVersion: SPEC_VERSION,
      expires: tufTime(expires),
      snapshotMeta: new MetaFile({ version: snapshotVersion }),
    }),
  );
}

export function serialize(metadata: Metadata<Root | Targets | Snapshot | Timestamp>): string {
  return JSON.stringify(metadata.toJSON());
}

/** The public keys a root assigns to a role. */
export function roleKeyIds(root: Metadata<Root>, role: string): string[] {
  return root.signed.roles[role]?.keyIDs ?? [];
}

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type Check, inspectDeposit, LEVELS, type Level } from './inspect.js';
import { type LocatedDeposit, locateDeposit } from './manifest.js';
import {
  assertMasterKeyFits,
  installMasterKey,
  installTls,
  type RestoreReport,
  restoreDeposit,
} from './restore.js';
import { decryptSecrets, type EscrowSecrets } from './secrets.js';
import type { TrustOptions } from './trust.js';

export type { Check, Level } from './inspect.js';
export { LEVELS } from './inspect.js';

/** Where an agent keeps its pin by default: next to its identity file (docs/continuity.md). */
export function defaultPinFile(identityFile: string): string {
  return join(dirname(identityFile), `${identityFile.split(/[\\/]/).pop()}.deposit-pin.json`);
}

export interface EscrowAccess {
  /** The escrow directory, a deposit directory or a manifest.json. */
  bundle: string;
  depositId?: string;
  /** The agent's age identity (the key, not the file). */
  identity?: string;
  trust: Omit<TrustOptions, 'explicit'>;
  onProgress?: (step: string, done: number, total: number) => void;
  now?: () => Date;
}

export interface VerifyReport {
  deposit: string;
  escrowDir: string;
  /** The highest level whose checks (and all lower ones) passed; null when integrity failed. */
  level: Level | null;
  /** True when every check that ran passed. */
  ok: boolean;
  checks: Check[];
  /** Levels not checked: restorability needs the agent's identity. */
  skipped: Level[];
}

function levelOf(checks: Check[]): Level | null {
  let level: Level | null = null;
  for (const candidate of LEVELS) {
    const ran = checks.filter((c) => c.level === candidate);
    if (ran.length === 0 || ran.some((c) => !c.ok)) break;
    level = candidate;
  }
  return level;
}

async function openSecrets(located: LocatedDeposit, identity: string): Promise<EscrowSecrets> {
  return decryptSecrets(readFileSync(join(located.depositDir, located.manifest.secrets.file)), identity);
}

/**
 * `escrow verify`: the shared inspection (escrow/inspect.ts) and, with the identity, a trial
 * restore into a scratch SQLite database through the very function a restore uses. The agent's
 * pin moves forward only when every check passed.
 */
export async function verifyEscrow(access: EscrowAccess): Promise<VerifyReport> {
  const located = locateDeposit(access.bundle, access.depositId);
  const { checks, trust } = await inspectDeposit(
    located,
    { ...access.trust, explicit: access.depositId !== undefined },
    access.onProgress,
  );
  const skipped: Level[] = [];
  if (access.identity) await trialRestore(located, access.identity, checks, access.onProgress);
  else skipped.push('restorability');
  const ok = checks.every((c) => c.ok);
  if (ok) trust.commit(access.now?.() ?? new Date());
  return {
    deposit: located.manifest.id,
    escrowDir: located.escrowDir,
    level: levelOf(checks),
    ok,
    checks,
    skipped,
  };
}

async function trialRestore(
  located: LocatedDeposit,
  identity: string,
  checks: Check[],
  onProgress?: (step: string, done: number, total: number) => void,
): Promise<void> {
  const add = (name: string, ok: boolean, detail: string) =>
    checks.push({ level: 'restorability', name, ok, detail });
  let secrets: EscrowSecrets;
  try {
    secrets = await openSecrets(located, identity);
    add('secrets', true, `secrets.age opens: ${located.manifest.secrets.contents.join(', ')}`);
  } catch (error) {
    add('secrets', false, (error as Error).message);
    return;
  }
  const scratch = mkdtempSync(join(tmpdir(), 'brickless-escrow-verify-'));
  try {
    const report = await restoreDeposit(located, {
      database: join(scratch, 'trial.db'),
      secrets,
      ...(onProgress ? { onProgress: (p) => onProgress(`trial restore ${p.phase}`, p.done, p.total) } : {}),
    });
    const rows = Object.values(report.rows).reduce((a, b) => a + b, 0);
    add(
      'trial restore',
      true,
      `${rows} rows restored into a scratch SQLite database and migrated to ${report.migratedTo}`,
    );
    add(
      'audit chains',
      true,
      `${report.chains.length} chains, ${report.chains.reduce((a, c) => a + c.entries, 0)} entries verify and end at the signed checkpoints`,
    );
    add(
      'sealed keys',
      true,
      `the master key opens all ${report.sealedSecretsOpened} sealed keys (online TUF keys, device CA keys, webhook secrets)`,
    );
    add('trust roots', true, `${report.trustRoots} TUF roots in the data are the deposited trust files`);
  } catch (error) {
    add('trial restore', false, (error as Error).message);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A restore refused before anything was written: the failed checks, one a line. */
export class RestoreRefused extends Error {
  constructor(
    readonly deposit: string,
    readonly failed: Check[],
  ) {
    super(
      `escrow: deposit ${deposit} is not restorable; nothing was changed:\n${failed
        .map((c) => `  ${c.level} / ${c.name}: ${c.detail}`)
        .join('\n')}`,
    );
    this.name = 'RestoreRefused';
  }
}

export interface RestoreRequest extends EscrowAccess {
  identity: string;
  database: string;
  artifactDir: string;
  maxArtifactBytes?: number;
  masterKeyFile: string;
  /** Also install the old server's TLS files into `<tlsDataDir>/tls`. */
  tlsDataDir?: string;
  onRestoreProgress?: (progress: { phase: 'data' | 'artifacts'; done: number; total: number }) => void;
}

/**
 * `escrow restore`: the same inspection as verify (a deposit verify would refuse is refused
 * here, before anything is written), then the atomic restore; the master key and TLS files are
 * installed only after the data moved into place, and the pin moves forward.
 */
export async function restoreEscrow(
  request: RestoreRequest,
): Promise<RestoreReport & { deposit: LocatedDeposit; tlsInstalled: string[] }> {
  const located = locateDeposit(request.bundle, request.depositId);
  const { checks, trust } = await inspectDeposit(
    located,
    { ...request.trust, explicit: request.depositId !== undefined },
    request.onProgress,
  );
  const failed = checks.filter((c) => !c.ok);
  if (failed.length > 0) throw new RestoreRefused(located.manifest.id, failed);
  let secrets: EscrowSecrets;
  try {
    secrets = await openSecrets(located, request.identity);
  } catch (error) {
    throw new RestoreRefused(located.manifest.id, [
      { level: 'restorability', name: 'secrets', ok: false, detail: (error as Error).message },
    ]);
  }
  assertMasterKeyFits(secrets, request.masterKeyFile);
  const report = await restoreDeposit(located, {
    database: request.database,
    secrets,
    artifactDir: request.artifactDir,
    ...(request.maxArtifactBytes ? { maxArtifactBytes: request.maxArtifactBytes } : {}),
    ...(request.onRestoreProgress ? { onProgress: request.onRestoreProgress } : {}),
  });
  await installMasterKey(secrets, request.masterKeyFile);
  const tlsInstalled = request.tlsDataDir ? await installTls(secrets, request.tlsDataDir) : [];
  trust.commit(request.now?.() ?? new Date());
  return { ...report, deposit: located, tlsInstalled };
}

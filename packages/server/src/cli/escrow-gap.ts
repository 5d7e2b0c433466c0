import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocatedDeposit } from '../escrow/manifest.js';
import { ESCROW_FIELD } from '../updates/metadata.js';

/**
 * The update keys' escrow gap (issue 15): a TUF root that names no escrow key leaves a successor
 * unable to sign a new root, so it can neither ship updates nor move the devices (docs/updates.md,
 * "Escrow key"). Said loudly by `updates init`, `updates status` and `escrow verify` until closed.
 */
export function escrowGapMessage(org: string, rootVersion: number): string {
  return (
    `the update keys of ${org} are not covered by any escrow: TUF root version ${rootVersion} names no escrow key, ` +
    'so a successor could neither sign updates nor move the devices. Close the gap: ' +
    'brickless updates root draft --escrow-key AGENT_PUBLIC_KEY --out root.json, then root sign and root publish'
  );
}

/** True when a signed root document names at least one escrow key. */
export function rootNamesEscrowKey(root: { signed?: Record<string, unknown> }): boolean {
  const ids = root.signed?.[ESCROW_FIELD];
  return Array.isArray(ids) && ids.length > 0;
}

/** One gap per organisation whose newest root in the deposit names no escrow key. */
export function depositEscrowGaps(located: LocatedDeposit): string[] {
  const newest = new Map<string, { version: number; file: string }>();
  for (const name of Object.keys(located.manifest.files)) {
    const match = /^trust\/([^/]+)\/(\d+)\.root\.json$/.exec(name);
    if (!match?.[1] || !match[2]) continue;
    const version = Number(match[2]);
    const seen = newest.get(match[1]);
    if (!seen || version > seen.version) newest.set(match[1], { version, file: name });
  }
  const gaps: string[] = [];
  for (const [org, { version, file }] of newest) {
    let root: { signed?: Record<string, unknown> };
    try {
      root = JSON.parse(readFileSync(join(located.depositDir, file), 'utf8')) as typeof root;
    } catch {
      continue; // a damaged file is the integrity check's finding, not this one's
    }
    if (!rootNamesEscrowKey(root)) gaps.push(escrowGapMessage(org, version));
  }
  return gaps;
}

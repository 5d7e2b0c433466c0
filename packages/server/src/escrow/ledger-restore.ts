import type { Transaction } from 'kysely';
import { applyTombstones, tombstoneOf } from '../rights/ledger.js';
import type { Database } from '../store/schema.js';
import { type LocatedDeposit, latestDepositId, locateDeposit, signedPart } from './manifest.js';
import { ObjectStore } from './objects.js';
import { followRotations, isPublicKey, verifyDocument } from './signing.js';
import { type ColumnInfo, ESCROW_TABLES } from './tables.js';

export interface LedgerReport {
  /** The deposit whose deletion ledger was applied: the restored one, or a newer one of its series. */
  deposit: string;
  tombstones: number;
  /** Rows the tombstones deleted from the restored data (0 when the deposit already lacked them). */
  rowsDeleted: number;
  /** Why a newer deposit's ledger could not be used, when one exists. */
  note: string | null;
}

const LEDGER = 'deletion_ledger';
const MAX_CHAIN = 100_000;

/**
 * The deletion ledger a restore applies (GDPR Art. 17; docs/data-rights.md): deposits are full
 * snapshots, so restoring an older one would bring back data deleted since. The newest deposit
 * of the same series in the escrow directory (reached from LATEST through `previous` links that
 * hash-match, down to the restored one) carries every tombstone since; its manifest must be
 * signed by the restored deposit's key or a rotation of it. Damaged newer deposits are skipped
 * for the next older one; the note says so.
 */
export function newestLedgerDeposit(located: LocatedDeposit): {
  deposit: LocatedDeposit;
  note: string | null;
} {
  const latest = latestDepositId(located.escrowDir);
  if (!latest || latest === located.manifest.id) return { deposit: located, note: null };
  const chain: LocatedDeposit[] = [];
  let id: string | null = latest;
  let expectedSha: string | null = null;
  let note: string | null = null;
  while (id && chain.length < MAX_CHAIN) {
    if (id === located.manifest.id) {
      if (expectedSha !== null && expectedSha !== located.manifestSha256) {
        note = `deposit ${chain[chain.length - 1]?.manifest.id} names another manifest of ${id}: newer deposits are not of this series`;
        return { deposit: located, note };
      }
      break;
    }
    let next: LocatedDeposit;
    try {
      next = locateDeposit(located.escrowDir, id);
    } catch (error) {
      return {
        deposit: located,
        note: `newer deposit ${id} is unreadable (${(error as Error).message}); the restored deposit's own ledger was applied`,
      };
    }
    if (expectedSha !== null && next.manifestSha256 !== expectedSha)
      return {
        deposit: located,
        note: `the chain of deposits from ${latest} is broken at ${id}; the restored deposit's own ledger was applied`,
      };
    chain.push(next);
    expectedSha = next.manifest.previous?.sha256 ?? null;
    id = next.manifest.previous?.id ?? null;
  }
  if (id !== located.manifest.id)
    return {
      deposit: located,
      note: `the newest deposit ${latest} does not descend from ${located.manifest.id}; the restored deposit's own ledger was applied`,
    };
  const trusted = located.manifest.signature?.key;
  for (const candidate of chain) {
    const signature = candidate.manifest.signature;
    const signedOk =
      signature !== undefined &&
      isPublicKey(signature.key) &&
      verifyDocument(signature.key, signedPart(candidate.manifest), signature.value);
    const followed = trusted
      ? followRotations(trusted, candidate.manifest.keyRotations)
      : { error: 'unsigned' };
    if (signedOk && !('error' in followed) && followed.key === signature?.key)
      return { deposit: candidate, note };
    note = `newer deposit ${candidate.manifest.id} is not signed by the restored deposit's key (or a rotation of it) and was skipped`;
  }
  return { deposit: located, note };
}

/** Reads the tombstones a deposit carries; a line that is not a tombstone stops the restore. */
export async function readLedger(located: LocatedDeposit): Promise<Database['deletion_ledger'][]> {
  const entry = located.manifest.tables[LEDGER];
  if (!entry) return [];
  const objects = new ObjectStore(located.escrowDir);
  const out: Database['deletion_ledger'][] = [];
  const bad = (why: string) => new Error(`the deletion ledger of deposit ${located.manifest.id} ${why}`);
  for (const chunk of entry.chunks) {
    const lines = (await objects.readChunk(chunk.sha256)).split('\n').filter((l) => l !== '');
    for (const line of lines) {
      const values = JSON.parse(line) as unknown;
      if (!Array.isArray(values) || values.length !== entry.columns.length)
        throw bad('holds a malformed line');
      const row = Object.fromEntries(entry.columns.map((c, i) => [c, values[i]])) as Record<string, unknown>;
      for (const [column, value] of Object.entries(row))
        if (value !== null && typeof value !== 'string') throw bad(`has a non-text ${column}`);
      out.push(row as unknown as Database['deletion_ledger']);
    }
  }
  return out;
}

/**
 * Applies the newest ledger of the series to the restored data, and copies its tombstones the
 * restored deposit lacks into the restored ledger, so the successor's own deposits carry them on.
 */
export async function applyLedger(
  trx: Transaction<Database>,
  located: LocatedDeposit,
  columns: Map<string, ColumnInfo[]>,
): Promise<LedgerReport> {
  const { deposit, note } = newestLedgerDeposit(located);
  const rows = await readLedger(deposit);
  const rowsDeleted = await applyTombstones(
    trx,
    rows.map(tombstoneOf),
    columns,
    ESCROW_TABLES.map((t) => t.name),
  );
  if (deposit !== located) {
    const have = new Set((await trx.selectFrom(LEDGER).select('id').execute()).map((r) => r.id));
    const missing = rows.filter((r) => !have.has(r.id));
    for (let i = 0; i < missing.length; i += 500)
      await trx
        .insertInto(LEDGER)
        .values(missing.slice(i, i + 500))
        .execute();
  }
  return { deposit: deposit.manifest.id, tombstones: rows.length, rowsDeleted, note };
}

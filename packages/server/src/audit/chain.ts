import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// The package is CommonJS whose typings declare an ES default export; at run time the module
// itself is the function.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined;

/** The hash before the first entry of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  chain: string;
  seq: number;
  id: string;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  targetId: string;
  details: unknown;
  prevHash: string;
}

/**
 * SHA-256 over the RFC 8785 canonical JSON of the entry and its predecessor's hash. Canonical
 * JSON makes the hash independent of key order and of the database that stored the entry, so a
 * chain written on SQLite verifies after a restore into PostgreSQL.
 */
export function entryHash(fields: ChainedFields): string {
  const canonical = canonicalize(fields);
  if (canonical === undefined) throw new Error('audit entry is not serialisable');
  return createHash('sha256').update(canonical).digest('hex');
}

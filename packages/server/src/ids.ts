import { randomBytes } from 'node:crypto';

/**
 * Identifiers: a short type prefix, then 12 hex digits of milliseconds since the epoch and
 * 16 hex digits of randomness. They sort by creation time, which makes them usable as
 * pagination cursors on both database dialects without a separate sequence.
 */
export type IdPrefix = 'org' | 'brd' | 'prd' | 'dev' | 'tok' | 'aud';

export function newId(prefix: IdPrefix, at: Date = new Date()): string {
  const time = at.getTime().toString(16).padStart(12, '0');
  return `${prefix}_${time}${randomBytes(8).toString('hex')}`;
}

export function isId(prefix: IdPrefix, value: string): boolean {
  return new RegExp(`^${prefix}_[0-9a-f]{28}$`).test(value);
}

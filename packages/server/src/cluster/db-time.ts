import { type RawBuilder, sql } from 'kysely';
import type { Dialect } from '../store/db.js';

/**
 * "Now" for heartbeats and leases, in milliseconds since the epoch, as a SQL expression: the
 * database's clock on PostgreSQL (every node compares against the same clock, so skewed node
 * clocks neither steal a lease early nor declare a live node dead), this process's clock on
 * SQLite (one node). Wall time, not the injected domain clock: liveness is about real processes.
 */
export function dbNow(dialect: Dialect): RawBuilder<number> {
  return dialect === 'postgres'
    ? sql<number>`(extract(epoch from statement_timestamp()) * 1000)::bigint`
    : sql<number>`${Date.now()}`;
}

/** A bigint column as a number (pg returns int8 as text). */
export function millis(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

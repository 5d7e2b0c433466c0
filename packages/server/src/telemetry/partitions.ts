import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Telemetry at scale (issue 19 §5, docs/architecture.md "Telemetry at scale"): on PostgreSQL the
 * `telemetry` table is range-partitioned by `ts` (milliseconds), one partition per UTC day, with
 * a DEFAULT partition so that an insert never fails for want of a partition. SQLite keeps one
 * plain table; every query in the code is the same on both, and everything here is a no-op there.
 *
 * Why daily: at a million devices sending two values every five minutes the table grows by about
 * 576 million rows (some 80 GB with its indexes) a day; a weekly partition would hold four
 * billion rows, and retention could only drop a week at a time, deleting up to a week of rows one
 * by one at each boundary. A day keeps the boundary delete to one day's rows and the number of
 * partitions at the default retention (365 days) near 370, which the planner prunes quickly.
 */

export const DAY_MS = 86_400_000;
/**
 * Partitions exist this many days ahead of today. Devices may send readings up to five minutes
 * ahead (MAX_CLOCK_SKEW_MS in service.ts); a week ahead means the job may fail for a week before
 * a current reading lands in the DEFAULT partition.
 */
export const AHEAD_DAYS = 7;
/**
 * Rows in the DEFAULT partition older than this many days are left there: they come from devices
 * with a wrong clock, and a partition per such day would multiply partitions for a handful of
 * rows. Retention deletes them row by row like the boundary partition's.
 */
export const HISTORY_DAYS = 3660;
export const DEFAULT_PARTITION = 'telemetry_default';
/** The table as it was before migration 0030, attached whole as one partition (see the migration). */
export const LEGACY_PARTITION = 'telemetry_legacy';
/** How long a maintenance statement waits for a lock before giving up until the next run. */
const LOCK_TIMEOUT = '5s';

export interface Partition {
  name: string;
  /** Inclusive lower bound in ms; -Infinity for MINVALUE. */
  from: number;
  /** Exclusive upper bound in ms. */
  to: number;
}

export function isPostgres<T>(db: Kysely<T>): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** The UTC day number of a time in ms (days since 1970-01-01). */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** `telemetry_p20261207` for the day starting at 2026-12-07T00:00Z. */
export function partitionName(day: number): string {
  return `telemetry_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** True when `telemetry` is a partitioned table (PostgreSQL after migration 0030). */
export async function isPartitioned<T>(db: Kysely<T>): Promise<boolean> {
  if (!isPostgres(db)) return false;
  const { rows } = await sql<{ kind: string }>`
    select c.relkind as kind from pg_class c
    where c.oid = to_regclass(current_schema() || '.telemetry')`.execute(db);
  return rows[0]?.kind === 'p';
}

/** Names of every partition of `telemetry` (the DEFAULT one included): not tables of their own. */
export async function partitionTables<T>(db: Kysely<T>): Promise<Set<string>> {
  if (!isPostgres(db)) return new Set();
  const { rows } = await sql<{ name: string }>`
    select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass(current_schema() || '.telemetry')`.execute(db);
  return new Set(rows.map((r) => r.name));
}

/** The range partitions of `telemetry` with their bounds, oldest first (the DEFAULT one excluded). */
export async function listPartitions<T>(db: Kysely<T>): Promise<Partition[]> {
  if (!isPostgres(db)) return [];
  const { rows } = await sql<{ name: string; bound: string }>`
    select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
    where i.inhparent = to_regclass(current_schema() || '.telemetry')`.execute(db);
  const out: Partition[] = [];
  for (const r of rows) {
    // FOR VALUES FROM ('1765065600000') TO ('1765152000000'), or FROM (MINVALUE); DEFAULT has none.
    const m = /FROM \((MINVALUE|'?(-?\d+)'?)\) TO \('?(-?\d+)'?\)/.exec(r.bound);
    if (!m) continue;
    out.push({
      name: r.name,
      from: m[1] === 'MINVALUE' ? Number.NEGATIVE_INFINITY : Number(m[2]),
      to: Number(m[3]),
    });
  }
  return out.sort((a, b) => a.from - b.from);
}

/**
 * Creates the partition of one day and moves into it the rows the DEFAULT partition holds for
 * that day, in one transaction. The table is created apart and attached: ATTACH PARTITION takes
 * only a SHARE UPDATE EXCLUSIVE lock on `telemetry` (CREATE TABLE ... PARTITION OF would take
 * ACCESS EXCLUSIVE and stop ingest), and the CHECK constraint spares the attach a scan of the new
 * table. Returns how many rows moved.
 */
async function createDay<T>(db: Kysely<T>, day: number): Promise<number> {
  const name = partitionName(day);
  const from = day * DAY_MS;
  const to = from + DAY_MS;
  return db.transaction().execute(async (trx) => {
    await sql`set local lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(trx);
    await sql`create table ${sql.id(name)} (like telemetry including defaults)`.execute(trx);
    const moved = await sql`
      with moved as (
        delete from ${sql.id(DEFAULT_PARTITION)} where ts >= ${sql.lit(from)} and ts < ${sql.lit(to)}
        returning *)
      insert into ${sql.id(name)} select * from moved`.execute(trx);
    await sql`alter table ${sql.id(name)} add constraint ${sql.id(`${name}_range`)}
      check (ts >= ${sql.lit(from)} and ts < ${sql.lit(to)})`.execute(trx);
    await sql`alter table telemetry attach partition ${sql.id(name)}
      for values from (${sql.lit(from)}) to (${sql.lit(to)})`.execute(trx);
    await sql`alter table ${sql.id(name)} drop constraint ${sql.id(`${name}_range`)}`.execute(trx);
    return Number(moved.numAffectedRows ?? 0);
  });
}

export interface MaintenanceResult {
  /** Partitions created (ahead of time, or for rows found in the DEFAULT partition). */
  created: string[];
  /** Rows moved out of the DEFAULT partition into their day's partition. */
  moved: number;
}

/**
 * The partition job: makes sure every day from today to AHEAD_DAYS ahead has its partition, and
 * moves rows that landed in the DEFAULT partition (readings sent with an old time, rows restored
 * from a deposit, or current rows when this job did not run for a week) into partitions of their
 * own day, so that retention can drop them with the day. Days older than the retention cut-off
 * (`retentionDays` > 0) or than HISTORY_DAYS stay in the DEFAULT partition: retention deletes
 * their rows anyway. Does nothing on SQLite or an unpartitioned table.
 */
export async function maintainPartitions<T>(
  db: Kysely<T>,
  nowMs: number,
  retentionDays: number,
): Promise<MaintenanceResult> {
  const result: MaintenanceResult = { created: [], moved: 0 };
  if (!(await isPartitioned(db))) return result;
  const today = dayOf(nowMs);
  const covered = (await listPartitions(db)).map((p) => [p.from, p.to] as const);
  const has = (day: number) => covered.some(([f, t]) => f <= day * DAY_MS && day * DAY_MS + DAY_MS <= t);
  const wanted = new Set<number>();
  for (let d = today; d <= today + AHEAD_DAYS; d++) wanted.add(d);
  const oldest = Math.max(
    today - HISTORY_DAYS,
    retentionDays > 0 ? dayOf(nowMs - retentionDays * DAY_MS) : -1e9,
  );
  const { rows } = await sql<{ day: string }>`
    select distinct ts / ${sql.lit(DAY_MS)} as day from ${sql.id(DEFAULT_PARTITION)}
    where ts >= ${sql.lit(oldest * DAY_MS)} and ts < ${sql.lit((today + AHEAD_DAYS + 1) * DAY_MS)}`.execute(
    db,
  );
  for (const r of rows) wanted.add(Number(r.day));
  for (const day of [...wanted].sort((a, b) => a - b)) {
    if (has(day)) continue;
    result.moved += await createDay(db, day);
    result.created.push(partitionName(day));
  }
  return result;
}

/**
 * Drops every partition whose whole range is older than `cutoffMs`: all its rows are older than
 * the cut-off, so the row-by-row delete would have removed every one of them. Returns the names.
 */
export async function dropPartitionsBefore<T>(db: Kysely<T>, cutoffMs: number): Promise<string[]> {
  if (!(await isPartitioned(db))) return [];
  const dropped: string[] = [];
  for (const p of await listPartitions(db)) {
    if (p.to > cutoffMs) continue;
    await db.transaction().execute(async (trx) => {
      await sql`set local lock_timeout = ${sql.lit(LOCK_TIMEOUT)}`.execute(trx);
      await sql`drop table ${sql.id(p.name)}`.execute(trx);
    });
    dropped.push(p.name);
  }
  return dropped;
}

/** Creates the partitions of the given days that do not exist yet (a bulk load's days, a test's). */
export async function createPartitions<T>(db: Kysely<T>, days: number[]): Promise<string[]> {
  if (!(await isPartitioned(db))) return [];
  const covered = (await listPartitions(db)).map((p) => [p.from, p.to] as const);
  const created: string[] = [];
  for (const day of days) {
    if (covered.some(([f, t]) => f <= day * DAY_MS && day * DAY_MS + DAY_MS <= t)) continue;
    await createDay(db, day);
    created.push(partitionName(day));
  }
  return created;
}

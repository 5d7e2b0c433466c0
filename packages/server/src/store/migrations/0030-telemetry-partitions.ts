import { type Kysely, sql } from 'kysely';
import {
  AHEAD_DAYS,
  DAY_MS,
  DEFAULT_PARTITION,
  dayOf,
  isPostgres,
  LEGACY_PARTITION,
  partitionName,
} from '../../telemetry/partitions.js';

/**
 * Telemetry partitioned by day on PostgreSQL (issue 19 §5, telemetry/partitions.ts). The table is
 * converted in place, keeping every row, without copying them: the existing table is renamed and
 * attached whole as one partition (`telemetry_legacy`) for every time before the first daily
 * partition, its indexes attached to the partitioned indexes of the same shape instead of being
 * built again. The attach checks the old rows in one scan; a copy would write them all again and
 * rebuild both indexes. Retention drops the legacy partition once all of it is older than the
 * retention period, and deletes its old rows one by one until then, as before.
 *
 * The daily partitions start at the day after the newest existing reading (today at the latest)
 * and run AHEAD_DAYS ahead; the DEFAULT partition takes any reading outside them, so an insert
 * never fails. SQLite keeps its plain table.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`lock table telemetry in access exclusive mode`.execute(db);
  const { rows } = await sql<{ newest: string | null }>`select max(ts) as newest from telemetry`.execute(db);
  const newest = rows[0]?.newest;
  const today = dayOf(Date.now());
  const first = newest === null || newest === undefined ? today : Math.max(today, dayOf(Number(newest)) + 1);

  await sql`alter table telemetry rename to ${sql.id(LEGACY_PARTITION)}`.execute(db);
  await sql`alter index telemetry_device_field_ts rename to telemetry_legacy_device_field_ts`.execute(db);
  await sql`alter index telemetry_ts rename to telemetry_legacy_ts`.execute(db);
  await sql`
    create table telemetry (
      org_id text not null,
      device_id text not null,
      field text not null,
      ts bigint not null,
      num_value double precision,
      text_value text
    ) partition by range (ts)`.execute(db);
  if (newest === null || newest === undefined) {
    await sql`drop table ${sql.id(LEGACY_PARTITION)}`.execute(db);
  } else {
    await sql`alter table telemetry attach partition ${sql.id(LEGACY_PARTITION)}
      for values from (minvalue) to (${sql.lit(first * DAY_MS)})`.execute(db);
  }
  await sql`create table ${sql.id(DEFAULT_PARTITION)} partition of telemetry default`.execute(db);
  for (let day = first; day <= today + AHEAD_DAYS; day++)
    await sql`create table ${sql.id(partitionName(day))} partition of telemetry
      for values from (${sql.lit(day * DAY_MS)}) to (${sql.lit((day + 1) * DAY_MS)})`.execute(db);
  // Created last: the legacy partition's indexes of the same shape are attached, not built again.
  await sql`create index telemetry_device_field_ts on telemetry (device_id, field, ts)`.execute(db);
  await sql`create index telemetry_ts on telemetry (ts)`.execute(db);
}

/** Back to one plain table, every row copied (the partitions may hold many days by now). */
export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`alter table telemetry rename to telemetry_partitioned`.execute(db);
  await sql`alter index telemetry_device_field_ts rename to telemetry_partitioned_device_field_ts`.execute(
    db,
  );
  await sql`alter index telemetry_ts rename to telemetry_partitioned_ts`.execute(db);
  await sql`
    create table telemetry (
      org_id text not null,
      device_id text not null,
      field text not null,
      ts bigint not null,
      num_value double precision,
      text_value text
    )`.execute(db);
  await sql`insert into telemetry select * from telemetry_partitioned`.execute(db);
  await sql`drop table telemetry_partitioned`.execute(db);
  await sql`create index telemetry_device_field_ts on telemetry (device_id, field, ts)`.execute(db);
  await sql`create index telemetry_ts on telemetry (ts)`.execute(db);
}

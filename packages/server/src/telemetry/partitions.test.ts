import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { ManualClock } from '../clock.js';
import { liveColumns } from '../escrow/tables.js';
import { openStore, type Store } from '../store/db.js';
import { migrateTo, migrateToLatest } from '../store/migrate.js';
import { migrations } from '../store/migrations/index.js';
import type { Database } from '../store/schema.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { startPartitionMaintenance } from './partition-job.js';
import {
  AHEAD_DAYS,
  createPartitions,
  DAY_MS,
  DEFAULT_PARTITION,
  dayOf,
  HISTORY_DAYS,
  isPartitioned,
  LEGACY_PARTITION,
  listPartitions,
  type MaintenanceResult,
  maintainPartitions,
  partitionName,
  partitionTables,
} from './partitions.js';

const BEFORE_0030 = (() => {
  const order = Object.keys(migrations);
  return order[order.indexOf('0030-telemetry-partitions') - 1] as string;
})();

const row = (device: string, ts: number, value: number) => ({
  org_id: 'org_1',
  device_id: device,
  field: 'power',
  ts,
  num_value: value,
  text_value: null,
});

/** Every row, in a stable order, with bigint `ts` as a number. */
async function allRows(db: Kysely<Database>) {
  const rows = await db
    .selectFrom('telemetry')
    .selectAll()
    .orderBy('device_id')
    .orderBy('ts')
    .orderBy('num_value')
    .execute();
  return rows.map((r) => ({
    ...r,
    ts: Number(r.ts),
    num_value: r.num_value === null ? null : Number(r.num_value),
  }));
}

/** Which table a row with this time is stored in. */
async function home(db: Kysely<Database>, ts: number): Promise<string[]> {
  const { rows } = await sql<{ t: string }>`
    select tableoid::regclass::text as t from telemetry where ts = ${ts}`.execute(db);
  return rows.map((r) => r.t);
}

async function withDatabase(work: (store: Store, database: TestDatabase) => Promise<void>): Promise<void> {
  const database = await freshDatabase('postgres');
  const store = await openStore(database.url);
  try {
    await work(store, database);
  } finally {
    await store.close();
    await database.drop();
  }
}

if (testDialects.includes('postgres')) {
  describe('telemetry partitions (postgres)', () => {
    it('migration 0030 converts a telemetry table with rows in place, keeping every row', async () => {
      await withDatabase(async (store) => {
        const db = store.db;
        await migrateTo(db, BEFORE_0030);
        const now = Date.now();
        const times = [5, now - 400 * DAY_MS, now - 2 * DAY_MS, now - 3_600_000, now, now + 3 * 60_000];
        await db
          .insertInto('telemetry')
          .values(times.map((ts, i) => row('dev_a', ts, i)))
          .execute();
        await db
          .insertInto('telemetry')
          .values({ ...row('dev_b', now - 1000, 0), field: 'mode', num_value: null, text_value: 'eco' })
          .execute();
        // And a few thousand more, made in the database.
        await sql`insert into telemetry select 'org_1', 'dev_' || (i % 50), 'power', ${now}::bigint - i * 60000, i, null
          from generate_series(1, 5000) as i`.execute(db);
        const before = await allRows(db);
        assert.equal(await isPartitioned(db), false);

        await migrateToLatest(db);

        assert.equal(await isPartitioned(db), true);
        assert.deepEqual(await allRows(db), before, 'every row kept, unchanged');
        const parts = await listPartitions(db);
        const names = parts.map((p) => p.name);
        assert.equal(names[0], LEGACY_PARTITION, 'the old table is the first partition');
        assert.equal(parts[0]?.from, Number.NEGATIVE_INFINITY);
        const today = dayOf(now);
        const first = Math.max(today, dayOf(now + 3 * 60_000) + 1);
        assert.equal(parts[0]?.to, first * DAY_MS, 'the legacy partition ends where the daily ones start');
        for (let d = first; d <= today + AHEAD_DAYS; d++)
          assert.ok(names.includes(partitionName(d)), partitionName(d));
        assert.ok((await partitionTables(db)).has(DEFAULT_PARTITION));
        const indexes = await sql<{ indexname: string }>`
          select indexname from pg_indexes where tablename = 'telemetry' order by indexname`.execute(db);
        assert.deepEqual(
          indexes.rows.map((r) => r.indexname),
          ['telemetry_device_field_ts', 'telemetry_ts'],
        );
        // New rows go where they belong; an insert never fails for want of a partition.
        const ahead = (today + 2) * DAY_MS + 1000;
        await db
          .insertInto('telemetry')
          .values([row('dev_c', ahead, 1), row('dev_c', 7, 2), row('dev_c', (today + 30) * DAY_MS, 3)])
          .execute();
        assert.deepEqual(await home(db, ahead), [partitionName(today + 2)]);
        assert.deepEqual(await home(db, 7), [LEGACY_PARTITION]);
        assert.deepEqual(await home(db, (today + 30) * DAY_MS), [DEFAULT_PARTITION]);
        // A deposit reads the parent table only: the partitions are not tables of their own.
        const columns = await liveColumns(db);
        assert.ok(columns.has('telemetry'));
        for (const name of names) assert.equal(columns.has(name), false, name);
        assert.equal(columns.has(DEFAULT_PARTITION), false);

        // And back: one plain table with every row (migration 0030's down).
        const all = await allRows(db);
        await migrateTo(db, BEFORE_0030);
        assert.equal(await isPartitioned(db), false);
        assert.deepEqual(await partitionTables(db), new Set());
        assert.deepEqual(await allRows(db), all);
      });
    });

    it('migration 0030 on an empty table makes day partitions from today and a DEFAULT partition', async () => {
      await withDatabase(async (store) => {
        await migrateToLatest(store.db);
        const today = dayOf(Date.now());
        const parts = await listPartitions(store.db);
        assert.deepEqual(
          parts.map((p) => p.name),
          Array.from({ length: AHEAD_DAYS + 1 }, (_, i) => partitionName(today + i)),
        );
        assert.equal(parts[0]?.from, today * DAY_MS);
      });
    });

    it('the job creates partitions ahead and moves rows out of the DEFAULT partition', async () => {
      await withDatabase(async (store) => {
        const db = store.db;
        await migrateToLatest(db);
        const now = Date.now();
        const today = dayOf(now);
        const old = (today - 20) * DAY_MS + 5000;
        const ancient = (today - HISTORY_DAYS - 5) * DAY_MS;
        const late = (today + 9) * DAY_MS + 10;
        await db
          .insertInto('telemetry')
          .values([
            row('d', old, 1),
            row('d', old + 1, 2),
            row('d', ancient, 3),
            row('d', late, 4),
            row('d', now, 5),
          ])
          .execute();
        const before = await allRows(db);
        assert.deepEqual(await home(db, old), [DEFAULT_PARTITION]);

        // Retention of 10 days: a day older than that stays in DEFAULT (retention deletes it).
        assert.deepEqual(await maintainPartitions(db, now, 10), { created: [], moved: 0 });
        const result = await maintainPartitions(db, now, 0);
        assert.deepEqual(result, { created: [partitionName(today - 20)], moved: 2 });
        assert.deepEqual(await home(db, old), [partitionName(today - 20)]);
        assert.deepEqual(await home(db, ancient), [DEFAULT_PARTITION], 'older than HISTORY_DAYS: left');
        assert.deepEqual(await home(db, late), [DEFAULT_PARTITION], 'beyond the week ahead: not yet');

        // Nine days later (the job did not run meanwhile): a week ahead again, the late row moved.
        const later = await maintainPartitions(db, now + 9 * DAY_MS, 0);
        assert.deepEqual(
          later.created,
          Array.from({ length: AHEAD_DAYS + 1 }, (_, i) => partitionName(today + 9 + i)),
        );
        assert.equal(later.moved, 1);
        assert.deepEqual(await home(db, late), [partitionName(today + 9)]);
        assert.deepEqual(await allRows(db), before, 'no row lost or doubled by moving');
        assert.deepEqual(await maintainPartitions(db, now + 9 * DAY_MS, 0), { created: [], moved: 0 });

        // createPartitions (a bulk load's days) skips days that exist.
        assert.deepEqual(await createPartitions(db, [today, today - 1]), [partitionName(today - 1)]);
      });
    });

    it('serve runs the job at start, then every interval', async () => {
      await withDatabase(async (store) => {
        await migrateToLatest(store.db);
        const later = Date.now() + 20 * DAY_MS;
        const clock = new ManualClock(new Date(later).toISOString());
        const runs: MaintenanceResult[] = [];
        const errors: unknown[] = [];
        const stop = startPartitionMaintenance(
          { db: store.db, clock },
          0,
          (e) => errors.push(e),
          (r) => runs.push(r),
          50,
        );
        try {
          for (let i = 0; i < 200 && runs.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
        } finally {
          stop();
        }
        assert.deepEqual(errors, []);
        assert.deepEqual(
          runs[0]?.created,
          Array.from({ length: AHEAD_DAYS + 1 }, (_, i) => partitionName(dayOf(later) + i)),
        );
        assert.deepEqual(runs[1], { created: [], moved: 0 });
      });
    });
  });
}

describe('telemetry partitions on SQLite', () => {
  let store: Store;
  let database: TestDatabase;
  before(async () => {
    database = await freshDatabase('sqlite');
    store = await openStore(database.url);
    await migrateToLatest(store.db);
  });
  after(async () => {
    await store.close();
    await database.drop();
  });

  it('keeps one plain table; the job has nothing to do', async () => {
    assert.equal(await isPartitioned(store.db), false);
    assert.deepEqual(await listPartitions(store.db), []);
    assert.deepEqual(await maintainPartitions(store.db, Date.now(), 0), { created: [], moved: 0 });
    assert.deepEqual(await createPartitions(store.db, [dayOf(Date.now())]), []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import {
  createPartitions,
  DAY_MS,
  DEFAULT_PARTITION,
  dayOf,
  listPartitions,
  type Partition,
} from './partitions.js';
import { rawSeriesQuery, seriesQuery } from './service.js';

/**
 * The plan shape of the API's telemetry queries on PostgreSQL (issue 19 §5): a query with a time
 * range reads only the partitions of that range, through the (device_id, field, ts) index.
 * Small data; bench/telemetry-plan.ts shows the same at 100 million rows (docs/benchmarks.md).
 */
if (testDialects.includes('postgres')) {
  describe('telemetry query plans (postgres)', () => {
    let database: TestDatabase;
    let store: Store;
    let client: pg.Client;
    let parts: Partition[];
    const now = Date.now();
    const device = 'dev_0042';

    before(async () => {
      database = await freshDatabase('postgres');
      store = await openStore(database.url);
      await migrateToLatest(store.db);
      const today = dayOf(now);
      await createPartitions(store.db, [today - 3, today - 2, today - 1]);
      // 200 devices × 2 fields × a reading every 15 minutes for four days.
      await sql`insert into telemetry (org_id, device_id, field, ts, num_value, text_value)
        select 'org_1', 'dev_' || lpad(d::text, 4, '0'), f, ${(today - 3) * DAY_MS}::bigint + k * 900000 + d, k, null
        from generate_series(0, 4 * 96 - 1) k, generate_series(0, 199) d, unnest(array['power', 'temp']) f`.execute(
        store.db,
      );
      await sql`analyze telemetry`.execute(store.db);
      parts = await listPartitions(store.db);
      client = new pg.Client({ connectionString: database.url });
      await client.connect();
    });
    after(async () => {
      await client?.end();
      await store?.close();
      await database?.drop();
    });

    /** The tables a plan reads, and its text. */
    async function plan(compiled: { sql: string; parameters: readonly unknown[] }, analyze = true) {
      const result = await client.query<{ 'QUERY PLAN': string }>(
        `explain ${analyze ? '(analyze, buffers) ' : ''}${compiled.sql}`,
        [...compiled.parameters],
      );
      const lines = result.rows.map((r) => r['QUERY PLAN']);
      // Tables after `on` (index names end in _idx: a bitmap index scan names its index there).
      const read = new Set(
        lines.flatMap((l) => [...l.matchAll(/\bon (telemetry_\w+)/g)].map((m) => m[1] as string)),
      );
      read.forEach((name) => {
        if (name.endsWith('_idx')) read.delete(name);
      });
      return { lines, text: lines.join('\n'), read: [...read].sort() };
    }
    /** The partitions whose range meets [from, to]. */
    const overlapping = (from: number, to: number) =>
      parts
        .filter((p) => p.from <= to && p.to > from)
        .map((p) => p.name)
        .sort();

    it('a range reads only its own partitions, through the index', async () => {
      const cases = [
        { from: now - 3_600_000, bucketMs: 60_000 }, // the console's last hour
        { from: now - DAY_MS, bucketMs: 900_000 }, // its last day
        { from: now - 2.5 * DAY_MS, bucketMs: 21_600_000 },
      ];
      for (const c of cases) {
        const q = seriesQuery(store.db, 'org_1', device, {
          field: 'power',
          from: c.from,
          to: now,
          limit: 1000,
          bucketMs: c.bucketMs,
        }).compile();
        const p = await plan(q);
        assert.deepEqual(p.read, overlapping(c.from, now), p.text);
        assert.ok(p.read.length < parts.length, p.text);
        assert.equal(p.read.includes(DEFAULT_PARTITION), false, p.text);
        assert.match(p.text, /Index (Only )?Scan (using|on) telemetry_p\d{8}_device_id_field_ts_idx/, p.text);
      }
      const raw = await plan(
        rawSeriesQuery(store.db, 'org_1', device, {
          field: 'power',
          from: now - DAY_MS,
          to: now,
          limit: 1000,
        }).compile(),
      );
      assert.deepEqual(raw.read, overlapping(now - DAY_MS, now), raw.text);
      assert.match(
        raw.text,
        /Index (Only )?Scan (using|on) telemetry_p\d{8}_device_id_field_ts_idx/,
        raw.text,
      );
    });

    it("an owner's export and the retention delete are pruned to their range too", async () => {
      const since = now - 1.5 * DAY_MS;
      const fields = await plan(
        store.db
          .selectFrom('telemetry')
          .select('field')
          .distinct()
          .where('device_id', '=', device)
          .where('ts', '>=', since)
          .orderBy('field')
          .compile(),
      );
      assert.deepEqual(
        fields.read,
        overlapping(since, Number.MAX_SAFE_INTEGER).concat(DEFAULT_PARTITION).sort(),
        fields.text,
      );
      const cutoff = (dayOf(now) - 2) * DAY_MS + DAY_MS / 2;
      const deletion = await plan(store.db.deleteFrom('telemetry').where('ts', '<', cutoff).compile(), false);
      // Only the partitions that start before the cut-off, and DEFAULT (it takes old stragglers).
      assert.deepEqual(
        deletion.read,
        overlapping(Number.NEGATIVE_INFINITY, cutoff - 1)
          .concat(DEFAULT_PARTITION)
          .sort(),
        deletion.text,
      );
    });

    it('without a range every partition is read, each through its index', async () => {
      const all = await plan(
        rawSeriesQuery(store.db, 'org_1', device, {
          field: 'power',
          from: 0,
          to: Number.MAX_SAFE_INTEGER,
          limit: 1000,
        }).compile(),
      );
      assert.deepEqual(
        all.read,
        parts
          .map((p) => p.name)
          .concat(DEFAULT_PARTITION)
          .sort(),
        all.text,
      );
    });
  });
}

/**
 * Telemetry at 100 million rows (issue 19 §5): `node --import tsx bench/telemetry-plan.ts` (by
 * hand; not part of `npm test`, it takes minutes and ~15 GB of disk). Creates a fresh PostgreSQL
 * database (BENCH_PG, default postgres://postgres@127.0.0.1:5432/postgres names the server),
 * migrates it (daily partitions, migration 0030), fills BENCH_TELEMETRY_ROWS rows inside the
 * database (generate_series, one day per batch, with progress; indexes built once afterwards, as
 * a restore does), then EXPLAIN (ANALYZE, BUFFERS) the queries the API runs on telemetry
 * (telemetry/service.ts builds them; the same builders are explained here) and times dropping a
 * day by retention. The database is dropped at the end (BENCH_KEEP=1 keeps it). The section
 * "## Telemetry at 100 million rows" of docs/benchmarks.md is replaced, the rest kept.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../packages/server/src/store/db.js';
import { migrateToLatest } from '../packages/server/src/store/migrate.js';
import { serverTimeouts } from '../packages/server/src/store/pg-pool.js';
import {
  createPartitions,
  DAY_MS,
  dayOf,
  dropPartitionsBefore,
  listPartitions,
} from '../packages/server/src/telemetry/partitions.js';
import { rawSeriesQuery, seriesQuery } from '../packages/server/src/telemetry/service.js';
import { root } from '../test/support/cli.js';
import { keyLines } from './plan-lines.js';

const ROWS = Number(process.env.BENCH_TELEMETRY_ROWS ?? 100_000_000);
const DAYS = Number(process.env.BENCH_TELEMETRY_DAYS ?? 25);
const FIELDS = ['power', 'temp'];
/** Readings per device and field per day (one every 18 minutes). */
const PER_DAY = 80;
const DEVICES = Math.max(1, Math.round(ROWS / (DAYS * FIELDS.length * PER_DAY)));
const ORG = 'org_bench';
const DEVICE_BATCH = 5000;
const adminUrl = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = 'brickless_bench_telemetry';

const device = (i: number) => `dev_${String(i).padStart(7, '0')}`;
const log = (line: string) => process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

interface Plan {
  title: string;
  sql: string;
  lines: string[];
  ms: number;
  /** Partitions the plan reads, of `total`: the planner pruned the others. */
  scanned: number;
  total: number;
}

async function main(): Promise<void> {
  await admin(`drop database if exists ${name} with (force)`);
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const store = await openStore(url.toString(), {
    postgres: { ...serverTimeouts, statementMs: 0, queryMs: 0 },
  });
  const client = new pg.Client({ connectionString: url.toString() });
  const plans: Plan[] = [];
  const started = Date.now();
  try {
    await migrateToLatest(store.db);
    await client.connect();
    const today = dayOf(Date.now());
    const firstDay = today - DAYS + 1;
    const days = Array.from({ length: DAYS }, (_, i) => firstDay + i);
    await createPartitions(store.db, days);
    log(`${DEVICES} devices x ${FIELDS.length} fields x ${PER_DAY} readings a day x ${DAYS} days`);
    // Indexes are built once after the load (as pg_restore and escrow restore do), not per row.
    await client.query('drop index telemetry_device_field_ts');
    await client.query('drop index telemetry_ts');
    await client.query('set synchronous_commit = off');
    const interval = DAY_MS / PER_DAY;
    let loaded = 0;
    const fill = Date.now();
    for (const day of days) {
      for (let first = 0; first < DEVICES; first += DEVICE_BATCH) {
        const last = Math.min(DEVICES, first + DEVICE_BATCH) - 1;
        // Readings in time order, devices interleaved (as ingest writes them), each device at
        // its own offset within the interval.
        const result = await client.query(
          `insert into telemetry (org_id, device_id, field, ts, num_value, text_value)
           select $1, 'dev_' || lpad(d::text, 7, '0'), f.name,
                  $2::bigint + k * $3::bigint + (d * 7919) % $3::bigint, round((random() * 1000)::numeric, 2), null
           from generate_series(0, $4::int - 1) k, generate_series($5::int, $6::int) d,
                unnest($7::text[]) f(name)`,
          [ORG, day * DAY_MS, interval, PER_DAY, first, last, FIELDS],
        );
        loaded += result.rowCount ?? 0;
      }
      const rate = loaded / ((Date.now() - fill) / 1000);
      log(`loaded ${loaded.toLocaleString('en')} rows (${Math.round(rate).toLocaleString('en')} rows/s)`);
    }
    const fillS = (Date.now() - fill) / 1000;
    const idx = Date.now();
    await client.query(`set maintenance_work_mem = '1GB'`);
    await client.query('create index telemetry_device_field_ts on telemetry (device_id, field, ts)');
    log('index (device_id, field, ts) built');
    await client.query('create index telemetry_ts on telemetry (ts)');
    const indexS = (Date.now() - idx) / 1000;
    log(`indexes built in ${indexS.toFixed(0)} s; vacuum analyze`);
    await client.query('vacuum analyze telemetry');
    const size = await client.query<{ heap: string; total: string }>(
      `select pg_size_pretty(sum(pg_relation_size(c.oid))) as heap,
              pg_size_pretty(sum(pg_total_relation_size(c.oid))) as total
       from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'telemetry'::regclass`,
    );

    const now = Date.now();
    const target = device(Math.floor(DEVICES / 2));
    const hour = { field: 'power', from: now - 3_600_000, to: now, limit: 1000 };
    const total = (await listPartitions(store.db)).length + 1; // and the DEFAULT partition
    const explain = async (
      title: string,
      compiled: { sql: string; parameters: readonly unknown[] },
      warm = true,
    ) => {
      // Twice: the first run reads from disk, the second shows the steady state; the second is kept.
      if (warm) await client.query(`explain (analyze, buffers) ${compiled.sql}`, [...compiled.parameters]);
      const t0 = process.hrtime.bigint();
      const result = await client.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers) ${compiled.sql}`,
        [...compiled.parameters],
      );
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const lines = result.rows.map((r) => r['QUERY PLAN']);
      const scanned = new Set(
        lines.flatMap((l) =>
          [...l.matchAll(/\bon (telemetry_\w+)/g)]
            .map((m) => m[1] as string)
            .filter((n) => !n.endsWith('_idx')),
        ),
      ).size;
      plans.push({ title, sql: compiled.sql, lines, ms, scanned, total });
      log(`${title}: ${ms.toFixed(1)} ms\n${lines.join('\n')}`);
    };
    await explain(
      'Console, last hour, 1 min buckets',
      seriesQuery(store.db, ORG, target, { ...hour, bucketMs: 60_000 }).compile(),
    );
    await explain(
      'Console, last day, 15 min buckets',
      seriesQuery(store.db, ORG, target, { ...hour, from: now - DAY_MS, bucketMs: 900_000 }).compile(),
    );
    await explain(
      'Console, last 30 days, 6 h buckets',
      seriesQuery(store.db, ORG, target, {
        ...hour,
        from: now - 30 * DAY_MS,
        bucketMs: 21_600_000,
      }).compile(),
    );
    await explain(
      'API, raw readings of the last day',
      rawSeriesQuery(store.db, ORG, target, { ...hour, from: now - DAY_MS }).compile(),
    );
    await explain(
      'API, raw readings without a range (from 0; the first 1000)',
      rawSeriesQuery(store.db, ORG, target, { ...hour, from: 0, to: Number.MAX_SAFE_INTEGER }).compile(),
    );
    const fromDay = now - 3 * DAY_MS;
    await explain(
      "Owner data export: a device's fields since a time (rights/device-sources.ts)",
      store.db
        .selectFrom('telemetry')
        .select('field')
        .distinct()
        .where('device_id', '=', target)
        .where('ts', '>=', fromDay)
        .orderBy('field')
        .compile(),
    );
    // Retention: the boundary delete, explained in a transaction that is rolled back.
    const cutoff = (firstDay + 1) * DAY_MS + DAY_MS / 2;
    await client.query('begin');
    await explain(
      'Retention, row delete at the cut-off (rolled back)',
      store.db.deleteFrom('telemetry').where('ts', '<', cutoff).compile(),
      false,
    );
    await client.query('rollback');
    const before = (await listPartitions(store.db)).length;
    const t0 = Date.now();
    const dropped = await dropPartitionsBefore(store.db, cutoff);
    const dropMs = Date.now() - t0;
    log(`retention dropped ${dropped.join(', ')} in ${dropMs} ms (${before} partitions before)`);

    const section = `## Telemetry at 100 million rows

Measured ${new Date().toISOString().slice(0, 10)} on this machine (${cpus().length} cores, shared with other work), PostgreSQL from \`BENCH_PG\`, by \`node --import tsx bench/telemetry-plan.ts\` (by hand, not in \`npm test\`; about ${Math.round((Date.now() - started) / 60_000)} minutes). ${loaded.toLocaleString('en')} readings: ${DEVICES.toLocaleString('en')} devices × ${FIELDS.length} fields × ${PER_DAY} readings a day × ${DAYS} days, one partition a day (migration 0030, docs/architecture.md "Telemetry at scale"), devices interleaved in time order as ingest writes them. Load inside the database (generate_series, one day per batch) ${fillS.toFixed(0)} s, both indexes ${indexS.toFixed(0)} s; ${size.rows[0]?.heap} of rows, ${size.rows[0]?.total} with indexes.

Each query is the one the API runs (built by \`seriesQuery\`/\`rawSeriesQuery\` in telemetry/service.ts), explained with ANALYZE and BUFFERS, second run; device \`${target}\`. Key lines:

${plans
  .map(
    (p) => `### ${p.title}: ${p.ms.toFixed(1)} ms round trip, ${p.scanned} of ${p.total} partitions read

\`\`\`text
${keyLines(p.lines).join('\n')}
\`\`\``,
  )
  .join('\n\n')}

Retention at a cut-off 1.5 days after the oldest reading: deleting those rows one by one (the plan above, rolled back) took ${plans.at(-1)?.ms.toFixed(0)} ms; dropping the oldest day whole (${dropped.join(', ')}, ${(loaded / DAYS).toLocaleString('en')} rows) took ${dropMs} ms, after which only the boundary day's older rows are deleted one by one.

Reading: every query with a time range reads only the partitions of that range (the planner prunes the others before execution, so they do not appear in the plan; \`N of M partitions read\` above counts them) and within each the \`(device_id, field, ts)\` index, so its cost follows the device's readings in the range, not the table's size. A query without a range (the API's default \`from\`), or one reaching before the oldest partition, also reads the DEFAULT partition; without a range it visits every partition's index once; with \`limit\` and \`order by ts\` the Merge Append stops after the first rows. The console's fleet pages (device list, overview) do not read telemetry.
`;
    const file = join(root, 'docs', 'benchmarks.md');
    const current = readFileSync(file, 'utf8');
    const start = current.indexOf('## Telemetry at 100 million rows');
    const next = start >= 0 ? current.indexOf('\n## ', start + 3) : -1;
    writeFileSync(
      file,
      start < 0
        ? `${current.trimEnd()}\n\n${section}`
        : `${current.slice(0, start)}${section}${next >= 0 ? current.slice(next + 1) : ''}`,
    );
  } finally {
    await client.end().catch(() => {});
    await store.close();
    if (process.env.BENCH_KEEP !== '1') await admin(`drop database if exists ${name} with (force)`);
  }
}

await main();

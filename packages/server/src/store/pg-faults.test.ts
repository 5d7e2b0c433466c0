import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openStore, type Store } from './db.js';
import type { FailureKind } from './health.js';
import { serverTimeouts } from './pg-pool.js';
import { freshDatabase, type TestDatabase } from './test-helper.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * pg_terminate_backend on the server's own connections, from a separate admin connection, as a
 * failover or an operator does. PostgreSQL only: SQLite has no server to lose (its fault, a lock
 * held elsewhere, is in telemetry/outage.test.ts).
 */
describe('PostgreSQL connections terminated under the server', {
  skip: !process.env.BRICKLESS_TEST_PG,
}, () => {
  let database: TestDatabase;
  let store: Store;
  let admin: pg.Client;
  const failures: FailureKind[] = [];

  let terminated: number[] = [];
  const terminateAll = async (): Promise<number> => {
    const name = new URL(database.url).pathname.slice(1);
    const result = await admin.query<{ pid: number }>(
      'select pid, pg_terminate_backend(pid) as ok from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [name],
    );
    terminated = result.rows.map((row) => row.pid);
    return result.rowCount ?? 0;
  };
  /** Waits (at most 10 s) until the backends terminateAll ended have exited. */
  const backendsGone = async (): Promise<void> => {
    for (let waited = 0; waited < 10_000; waited += 50) {
      const left = await admin.query('select 1 from pg_stat_activity where pid = any($1::int[])', [
        terminated,
      ]);
      if (left.rowCount === 0) return;
      await sleep(50);
    }
    assert.fail(`backends still running 10 s after pg_terminate_backend: ${terminated.join(', ')}`);
  };

  before(async () => {
    database = await freshDatabase('postgres');
    store = await openStore(database.url, { postgres: serverTimeouts });
    store.health.on('failure', (kind) => failures.push(kind));
    admin = new pg.Client({ connectionString: process.env.BRICKLESS_TEST_PG });
    await admin.connect();
  });
  after(async () => {
    await admin.end();
    await store.close();
    await database.drop();
  });

  it('an idle pooled connection terminated: logged as lost, the next query opens a new one', async () => {
    await sql`select 1`.execute(store.db);
    assert.ok((await terminateAll()) >= 1);
    await sleep(200);
    assert.ok(failures.includes('connection-lost'), `failures seen: ${failures.join(', ')}`);
    const row = await sql<{ n: number }>`select 2 as n`.execute(store.db);
    assert.equal(row.rows[0]?.n, 2);
  });

  it('a connection terminated while checked out between two statements of a transaction: that transaction fails, the process lives on', async () => {
    // pg emits `error` on a checked-out client when its backend goes; with no listener on it
    // (pg-pool listens only while a client is idle) the process crashed here.
    failures.length = 0;
    let reached = false;
    const transaction = store.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      reached = true;
      await sleep(400); // idle in transaction, checked out: the backend is terminated now
      await sql`select 1`.execute(trx);
    });
    // Handled from the start (see the next test): its rejection must not count as unhandled.
    const outcome = transaction.then(
      () => null,
      (error: unknown) => error,
    );
    while (!reached) await sleep(10);
    assert.ok((await terminateAll()) >= 1);
    assert.ok(await outcome, 'the transaction did not fail');
    assert.ok(failures.includes('connection-lost'), `failures seen: ${failures.join(', ')}`);
    const row = await sql<{ n: number }>`select 3 as n`.execute(store.db);
    assert.equal(row.rows[0]?.n, 3);
  });

  it('a connection terminated in the middle of a statement: the statement fails with 57P01, the next succeeds', async () => {
    // The outcome is caught at once: the statement can fail while terminateAll still waits for its
    // own answer, and a rejection with no handler yet fails the test as unhandled (CI, under load).
    const running = sql`select pg_sleep(5)`.execute(store.db).then(
      () => null,
      (error: { code?: string; message?: string }) => error,
    );
    await sleep(200);
    assert.ok((await terminateAll()) >= 1);
    const error = await running;
    assert.ok(error, 'the statement was not ended');
    assert.ok(error.code === '57P01' || /terminat/i.test(error.message ?? ''), String(error.message));
    // terminateAll also ended the pool's idle connections; their FATAL notices arrive on their own
    // sockets, and the pool drops each when its notice arrives. A query sent before a notice was
    // read can still pick one of them (a fixed 200 ms wait failed once in CI under load), so wait
    // until every terminated backend has exited, then give this process a moment to read them.
    await backendsGone();
    await sleep(100);
    const row = await sql<{ n: number }>`select 4 as n`.execute(store.db);
    assert.equal(row.rows[0]?.n, 4);
  });

  it('statements have a server-side timeout (statement_timeout) on the server’s pool', async () => {
    const setting = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(store.db);
    assert.equal(setting.rows[0]?.statement_timeout, '30s');
    const idle = await sql<{
      idle_in_transaction_session_timeout: string;
    }>`show idle_in_transaction_session_timeout`.execute(store.db);
    assert.equal(idle.rows[0]?.idle_in_transaction_session_timeout, '1min');
    // Bulk tools (restore, deposit, migrate) open the store without statement limits.
    const bulk = await openStore(database.url);
    try {
      const unlimited = await sql<{ statement_timeout: string }>`show statement_timeout`.execute(bulk.db);
      assert.equal(unlimited.rows[0]?.statement_timeout, '0');
    } finally {
      await bulk.close();
    }
  });
});

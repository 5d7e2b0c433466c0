import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { JobLeases, type LeaseRun } from './leases.js';

interface Run {
  holder: string;
  token: number;
  start: number;
  end: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs never overlap and start at least a period (less timer jitter) after the one before. */
function assertOncePerPeriod(runs: Run[], periodMs: number): void {
  const sorted = [...runs].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1] as Run;
    const run = sorted[i] as Run;
    assert.ok(
      run.start >= before.end,
      `run ${i} (${run.holder}) began before run ${i - 1} (${before.holder}) ended`,
    );
    assert.ok(
      run.start - before.start >= periodMs - 25,
      `runs ${i - 1} and ${i} only ${run.start - before.start} ms apart`,
    );
    assert.ok(run.token > before.token, 'every run has a larger fencing token');
  }
}

for (const dialect of testDialects) {
  describe(`job leases: exactly one node at a time (${dialect})`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];
    const open = async () => {
      const store = await openStore(database.url);
      stores.push(store);
      return store;
    };

    before(async () => {
      database = await freshDatabase(dialect);
      const first = await open();
      await migrateToLatest(first.db);
    });
    after(async () => {
      for (const store of stores) await store.close().catch(() => {});
      await database.drop();
    });

    it('three nodes polling one job: it runs once per period, never twice at once', async () => {
      const runs: Run[] = [];
      const stops: (() => void)[] = [];
      const errors: unknown[] = [];
      for (const name of ['a', 'b', 'c']) {
        const store = await open();
        const leases = new JobLeases(
          { db: store.db, dialect: store.dialect, holder: `${name}#1` },
          { ttlMs: 2000, pollMs: 50 },
        );
        stops.push(
          leases.every(
            'effect',
            300,
            async (run: LeaseRun) => {
              const start = Date.now();
              await sleep(40);
              runs.push({ holder: name, token: run.token, start, end: Date.now() });
            },
            (error) => errors.push(error),
          ),
        );
      }
      await sleep(3200);
      for (const stop of stops) stop();
      await sleep(100);
      assert.deepEqual(errors, []);
      // 3.2 s at one run per 300 ms (plus up to a poll of lateness each): about 9; never more than 11.
      assert.ok(runs.length >= 7 && runs.length <= 11, `${runs.length} runs`);
      assertOncePerPeriod(runs, 300);
    });

    it('a job that is not due is not run again by a node that just started', async () => {
      const store = await open();
      const leases = new JobLeases(
        { db: store.db, dialect: store.dialect, holder: 'late#1' },
        { ttlMs: 2000 },
      );
      let ran = 0;
      assert.equal(await leases.tryRun('daily', 86_400_000, async () => ran++), true);
      assert.equal(await leases.tryRun('daily', 86_400_000, async () => ran++), false);
      const other = new JobLeases(
        { db: store.db, dialect: store.dialect, holder: 'other#1' },
        { ttlMs: 2000 },
      );
      assert.equal(await other.tryRun('daily', 86_400_000, async () => ran++), false);
      assert.equal(ran, 1);
    });

    it('a failing run counts as a run and frees the lease', async () => {
      const store = await open();
      const leases = new JobLeases({ db: store.db, dialect: store.dialect, holder: 'f#1' }, { ttlMs: 2000 });
      await assert.rejects(
        leases.tryRun('failing', 60_000, async () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      const row = await store.db
        .selectFrom('leases')
        .selectAll()
        .where('name', '=', 'failing')
        .executeTakeFirstOrThrow();
      assert.ok(Number(row.expires_at) <= Date.now() + 5);
      assert.ok(row.last_finished_at !== null);
    });

    it('the holder dies mid-run (its pool closed): another node takes over after the lease expires, and the old run learns it lost the lease first', async () => {
      const ttlMs = 1000;
      const dying = await openStore(database.url);
      const survivor = await open();
      const lost: number[] = [];
      let takenAt = 0;
      let released: () => void = () => {};
      const old = new JobLeases(
        { db: dying.db, dialect: dying.dialect, holder: 'dying#1' },
        { ttlMs, pollMs: 50 },
      );
      const running = old.tryRun('takeover', 60_000, async (run) => {
        run.signal.addEventListener('abort', () => lost.push(Date.now()));
        assert.equal(await run.stillHeld(), true);
        await new Promise<void>((resolve) => {
          released = resolve;
        });
      });
      await sleep(100);
      const killedAt = Date.now();
      // No release, no renewal from now on: the connection pool is gone.
      await dying.close();
      const next = new JobLeases(
        { db: survivor.db, dialect: survivor.dialect, holder: 'survivor#1' },
        { ttlMs, pollMs: 50 },
      );
      const stop = next.every(
        'takeover',
        60_000,
        async () => {
          takenAt ||= Date.now();
        },
        () => {},
      );
      while (!takenAt && Date.now() - killedAt < 5000) await sleep(20);
      stop();
      released();
      await running.catch(() => {});
      assert.ok(takenAt > 0, 'nobody took the job over');
      const after = takenAt - killedAt;
      // Free at the lease's expiry (ttl after its last renewal, at most ttl after the kill), taken at
      // the next poll.
      assert.ok(after <= ttlMs + 300, `taken over ${after} ms after the kill`);
      assert.ok(after >= ttlMs / 3 - 50, `taken over too soon: ${after} ms`);
      assert.equal(lost.length, 1, 'the old run was told it lost the lease');
      assert.ok((lost[0] as number) <= takenAt, 'the old run stopped before the new one began');
    });
  });
}

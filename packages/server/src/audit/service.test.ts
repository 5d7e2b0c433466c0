import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { inTransaction } from '../store/transaction.js';
import { AuditLog } from './service.js';

for (const dialect of testDialects) {
  describe(`audit hash chain (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    let log: AuditLog;

    beforeEach(async () => {
      database = await freshDatabase(dialect);
      store = await openStore(database.url);
      await migrateToLatest(store.db);
      log = new AuditLog({ clock: new ManualClock(), dialect });
    });
    afterEach(async () => {
      await store.close();
      await database.drop();
    });

    const write = async (n: number, chain = 'org_a') => {
      for (let i = 1; i <= n; i++) {
        await inTransaction(store.db, (trx) =>
          log.append(trx, chain, {
            actor: 'tester',
            action: 'thing.change',
            targetType: 'thing',
            targetId: `t${i}`,
            details: { i },
          }),
        );
      }
    };

    it('verifies an intact chain and keeps chains of organisations apart', async () => {
      await write(5);
      await write(3, 'org_b');
      const a = await log.verify(store.db, 'org_a');
      assert.deepEqual({ ok: a.ok, entries: a.entries, seq: a.head?.seq }, { ok: true, entries: 5, seq: 5 });
      assert.equal((await log.verify(store.db, 'org_b')).entries, 3);
      assert.deepEqual(await log.chains(store.db), ['org_a', 'org_b']);
    });

    it('detects an edited entry', async () => {
      await write(5);
      await store.db.updateTable('audit_entries').set({ details: '{"i":99}' }).where('seq', '=', 3).execute();
      const report = await log.verify(store.db, 'org_a');
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.problems.map((p) => p.seq),
        [3],
      );
      assert.match(report.problems[0]?.problem ?? '', /edited/);
    });

    it('detects a changed actor even when the attacker recomputes that entry’s hash', async () => {
      await write(4);
      const { entryHash } = await import('./chain.js');
      const [row] = await log.list(store.db, 'org_a', { afterSeq: 1, limit: 1 });
      assert.ok(row);
      const forged = { ...row, actor: 'someone else' };
      const { hash: _old, ...fields } = forged;
      await store.db
        .updateTable('audit_entries')
        .set({ actor: forged.actor, hash: entryHash(fields) })
        .where('chain', '=', 'org_a')
        .where('seq', '=', 2)
        .execute();
      const report = await log.verify(store.db, 'org_a');
      assert.equal(report.ok, false);
      assert.ok(report.problems.some((p) => p.seq === 3 && /link broken/.test(p.problem)));
    });

    it('detects a deleted entry in the middle', async () => {
      await write(5);
      await store.db.deleteFrom('audit_entries').where('seq', '=', 2).execute();
      const report = await log.verify(store.db, 'org_a');
      assert.equal(report.ok, false);
      assert.ok(report.problems.some((p) => p.seq === 3));
    });

    it('detects an inserted entry', async () => {
      await write(3);
      await store.db.updateTable('audit_entries').set({ seq: 10 }).where('seq', '=', 3).execute();
      const [second] = await log.list(store.db, 'org_a', { afterSeq: 1, limit: 1 });
      await store.db
        .insertInto('audit_entries')
        .values({
          chain: 'org_a',
          seq: 3,
          id: 'aud_forged',
          at: '2026-01-01T00:00:00.000Z',
          actor: 'intruder',
          action: 'device.delete',
          target_type: 'device',
          target_id: 'x',
          details: '{}',
          prev_hash: second?.hash ?? '',
          hash: 'f'.repeat(64),
        })
        .execute();
      assert.equal((await log.verify(store.db, 'org_a')).ok, false);
    });

    it('detects entries cut off the end, through the chain head', async () => {
      await write(5);
      await store.db.deleteFrom('audit_entries').where('seq', '>=', 4).execute();
      const report = await log.verify(store.db, 'org_a');
      assert.equal(report.ok, false);
      assert.match(report.problems[0]?.problem ?? '', /ends at 3/);
    });

    it('rolls back with the change it records: no entry for a failed transaction', async () => {
      await write(2);
      await assert.rejects(
        inTransaction(store.db, async (trx) => {
          await log.append(trx, 'org_a', {
            actor: 'a',
            action: 'x',
            targetType: 't',
            targetId: 'i',
            details: {},
          });
          throw new Error('the change failed');
        }),
      );
      const report = await log.verify(store.db, 'org_a');
      assert.deepEqual({ ok: report.ok, entries: report.entries }, { ok: true, entries: 2 });
    });

    it('stays one unbroken chain under concurrent appends', async () => {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          inTransaction(store.db, (trx) =>
            log.append(trx, 'org_a', {
              actor: 'c',
              action: 'x',
              targetType: 't',
              targetId: `c${i}`,
              details: { i },
            }),
          ),
        ),
      );
      const report = await log.verify(store.db, 'org_a');
      assert.deepEqual({ ok: report.ok, entries: report.entries }, { ok: true, entries: 40 });
    });

    it('appends a batch in order, beside single appends and other batches running at once', async () => {
      await write(2);
      const batch = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => ({
          actor: 'fleet',
          action: 'endpoint.arrived',
          targetType: 'device',
          targetId: `d${from + i}`,
          details: { i: from + i },
        }));
      // More entries than one INSERT holds, so the batch is split.
      const [big] = await Promise.all([
        inTransaction(store.db, (trx) => log.appendMany(trx, 'org_a', batch(0, 4500))),
        inTransaction(store.db, (trx) => log.appendMany(trx, 'org_a', batch(10_000, 3))),
        write(2),
      ]);
      assert.deepEqual(big.map((e) => e.targetId).slice(0, 3), ['d0', 'd1', 'd2']);
      assert.deepEqual(
        big.slice(1).map((e) => e.seq - 1),
        big.slice(0, -1).map((e) => e.seq),
        'consecutive',
      );
      assert.equal(
        await inTransaction(store.db, (trx) => log.appendMany(trx, 'org_a', [])).then((e) => e.length),
        0,
      );
      const report = await log.verify(store.db, 'org_a');
      assert.deepEqual({ ok: report.ok, entries: report.entries }, { ok: true, entries: 2 + 4500 + 3 + 2 });
    });

    it('verifies long chains page by page', async () => {
      const rows = Array.from({ length: 2500 }, (_, i) => i);
      await inTransaction(store.db, async (trx) => {
        for (const i of rows)
          await log.append(trx, 'org_long', {
            actor: 'a',
            action: 'x',
            targetType: 't',
            targetId: `${i}`,
            details: {},
          });
      });
      let progress = 0;
      const report = await log.verify(store.db, 'org_long', (n) => {
        progress += n;
      });
      assert.equal(report.ok, true);
      assert.equal(report.entries, 2500);
      assert.equal(progress, 2500);
    });
  });
}

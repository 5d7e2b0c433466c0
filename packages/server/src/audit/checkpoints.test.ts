import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManualClock } from '../clock.js';
import { loadDepositKey, publicKeyOf } from '../escrow/signing.js';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { inTransaction } from '../store/transaction.js';
import { entryHash, GENESIS_HASH } from './chain.js';
import {
  appendCheckpoints,
  type CheckpointSource,
  checkAgainstCheckpoints,
  currentHeads,
  databaseLookup,
  readCheckpoints,
  type SignedCheckpoint,
  signCheckpoints,
} from './checkpoints.js';
import { AuditLog, PLATFORM_CHAIN } from './service.js';

/**
 * What an owner of the database (not of the data dir or the agent's copies) can do to the log,
 * one attack a test, each on both dialects: the signed checkpoints must show it.
 */
for (const dialect of testDialects) {
  describe(`audit checkpoints (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    let log: AuditLog;
    let keyDir: string;
    const clock = new ManualClock(new Date('2026-12-01T00:00:00Z'));

    beforeEach(async () => {
      database = await freshDatabase(dialect);
      store = await openStore(database.url);
      await migrateToLatest(store.db);
      log = new AuditLog({ clock, dialect });
      keyDir = mkdtempSync(join(tmpdir(), 'brickless-checkpoint-key-'));
    });
    afterEach(async () => {
      await store.close();
      await database.drop();
      rmSync(keyDir, { recursive: true, force: true });
    });

    const write = async (n: number, chain: string) => {
      for (let i = 1; i <= n; i++)
        await inTransaction(store.db, (trx) =>
          log.append(trx, chain, {
            actor: 'tester',
            action: 'thing.change',
            targetType: 'thing',
            targetId: `t${i}`,
            details: { i },
          }),
        );
    };
    const checkpoint = async (at = clock.now()): Promise<SignedCheckpoint[]> =>
      signCheckpoints(await currentHeads(store.db), loadDepositKey(keyDir), at);
    const check = async (checkpoints: SignedCheckpoint[], keys = [loadDepositKey(keyDir).publicKey]) => {
      const source: CheckpointSource = { checkpoints, rotations: [], unreadable: [] };
      return checkAgainstCheckpoints(source, new Set(keys), databaseLookup(store.db));
    };
    const problems = async (checkpoints: SignedCheckpoint[]) =>
      (await check(checkpoints)).problems.map((p) => `${p.chain}: ${p.problem}`);

    it('an intact log that grew since the checkpoint passes; the checkpoint log file round-trips', async () => {
      await write(4, 'org_a');
      await write(2, PLATFORM_CHAIN);
      const signed = await checkpoint();
      await write(3, 'org_a');
      const result = await check(signed);
      assert.deepEqual(result.problems, []);
      assert.equal(result.checked, 2);
      const file = join(keyDir, 'audit-checkpoints.jsonl');
      appendCheckpoints(file, signed);
      appendCheckpoints(file, await checkpoint(new Date('2026-12-02T00:00:00Z')));
      const read = readCheckpoints(file);
      assert.equal(read.checkpoints.length, 4);
      assert.deepEqual(await problems(read.checkpoints), []);
    });

    it('reports entries cut off the end with the head moved back to match (the chain itself still verifies)', async () => {
      await write(6, 'org_a');
      const signed = await checkpoint();
      await store.db.deleteFrom('audit_entries').where('chain', '=', 'org_a').where('seq', '>', 4).execute();
      const entry4 = await store.db
        .selectFrom('audit_entries')
        .select('hash')
        .where('chain', '=', 'org_a')
        .where('seq', '=', 4)
        .executeTakeFirstOrThrow();
      await store.db
        .updateTable('audit_heads')
        .set({ seq: 4, hash: entry4.hash })
        .where('chain', '=', 'org_a')
        .execute();
      assert.equal((await log.verify(store.db, 'org_a')).ok, true, 'the chain alone cannot tell');
      assert.match(
        (await problems(signed)).join('\n'),
        /org_a: the chain ends at entry 4, but the checkpoint .* says 6/,
      );
    });

    it('reports a head rolled back over entries that are still there', async () => {
      await write(5, 'org_a');
      const signed = await checkpoint();
      await store.db.updateTable('audit_heads').set({ seq: 2 }).where('chain', '=', 'org_a').execute();
      assert.match((await problems(signed)).join('\n'), /ends at entry 2, but the checkpoint .* says 5/);
    });

    it("reports an organisation's chain deleted whole", async () => {
      await write(3, 'org_a');
      await write(3, 'org_b');
      const signed = await checkpoint();
      await store.db.deleteFrom('audit_entries').where('chain', '=', 'org_b').execute();
      await store.db.deleteFrom('audit_heads').where('chain', '=', 'org_b').execute();
      assert.deepEqual(await problems(signed), [
        'org_b: the chain is gone: the checkpoint of 2026-12-01T00:00:00.000Z says it had 3 entries',
      ]);
    });

    it('reports a chain rewritten from the start with every hash recomputed', async () => {
      await write(4, 'org_a');
      const signed = await checkpoint();
      // Rewrite entry 2 and every later one so that the chain verifies again.
      const rows = await store.db
        .selectFrom('audit_entries')
        .selectAll()
        .where('chain', '=', 'org_a')
        .orderBy('seq')
        .execute();
      let prevHash = GENESIS_HASH;
      for (const row of rows) {
        const details = Number(row.seq) === 2 ? { i: 'forged' } : (JSON.parse(row.details) as unknown);
        const hash = entryHash({
          chain: row.chain,
          seq: Number(row.seq),
          id: row.id,
          at: row.at,
          actor: row.actor,
          action: row.action,
          targetType: row.target_type,
          targetId: row.target_id,
          details,
          prevHash,
        });
        await store.db
          .updateTable('audit_entries')
          .set({ details: JSON.stringify(details), prev_hash: prevHash, hash })
          .where('chain', '=', 'org_a')
          .where('seq', '=', row.seq)
          .execute();
        prevHash = hash;
      }
      await store.db
        .updateTable('audit_heads')
        .set({ hash: prevHash })
        .where('chain', '=', 'org_a')
        .execute();
      assert.equal((await log.verify(store.db, 'org_a')).ok, true, 'the chain alone cannot tell');
      assert.match(
        (await problems(signed)).join('\n'),
        /entry 4 does not hash to the head checkpointed .* \(history rewritten\)/,
      );
    });

    it('ignores and reports checkpoints not signed by a trusted key, and checkpoints that go backwards', async () => {
      await write(5, 'org_a');
      const genuine = await checkpoint();
      const other = generateKeyPairSync('ed25519').privateKey;
      const forged = signCheckpoints(
        new Map([['org_a', { seq: 1, hash: 'f'.repeat(64) }]]),
        { publicKey: publicKeyOf(other), privateKey: other },
        new Date('2026-12-03T00:00:00Z'),
      );
      const result = await check([...genuine, ...forged]);
      assert.deepEqual(
        result.problems.map((p) => p.problem),
        ['the checkpoint of 2026-12-03T00:00:00.000Z (size 1) is not signed by a trusted deposit key'],
      );
      // Altered after signing: the size no longer matches the signature.
      const altered = structuredClone(genuine);
      (altered[0] as SignedCheckpoint).checkpoint.size = 2;
      assert.match((await problems(altered)).join('\n'), /not signed by a trusted deposit key/);
      // The service itself signing a smaller size later is a rollback between checkpoints.
      const later = signCheckpoints(
        new Map([['org_a', { seq: 3, hash: 'a'.repeat(64) }]]),
        loadDepositKey(keyDir),
        new Date('2026-12-04T00:00:00Z'),
      );
      assert.match(
        (await problems([...genuine, ...later])).join('\n'),
        /says 3 entries, fewer than 5 .* rolled back/,
      );
    });
  });
}

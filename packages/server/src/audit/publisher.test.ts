import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyDocument } from '../escrow/signing.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import {
  CHECKPOINT_LOG,
  checkAgainstCheckpoints,
  currentHeads,
  databaseLookup,
  fetchCheckpoints,
  readCheckpoints,
} from './checkpoints.js';
import {
  type CheckpointPublisher,
  PUBLISHED_FORMAT,
  PUBLISHED_PATH,
  type PublishedCheckpoints,
  startCheckpointPublisher,
} from './publisher.js';

const logLines = (t: TestApp) =>
  readFileSync(join(t.database.dataDir, CHECKPOINT_LOG), 'utf8').trim().split('\n');

for (const dialect of testDialects) {
  describe(`published audit checkpoints (${dialect})`, () => {
    let t: TestApp;
    let publisher: CheckpointPublisher | undefined;
    let url: string;
    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      // A second audited action, so acme's chain has an entry to roll back to.
      const token = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'ci', role: 'auditor' } });
      assert.equal(token.status, 201, token.raw);
      await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}${PUBLISHED_PATH}`;
    });
    after(async () => {
      publisher?.stop();
      await t.close();
    });

    it('are not served while the schedule is off', async () => {
      const off = startCheckpointPublisher(
        t.app.services,
        { dataDir: t.database.dataDir, intervalMinutes: 0 },
        (error) => assert.fail(String(error)),
      );
      off.stop();
      const response = await t.call('GET', PUBLISHED_PATH, { token: null });
      assert.equal(response.status, 404, response.raw);
      assert.match(response.body.detail, /audit\.checkpointIntervalMinutes is 0/);
    });

    it('are signed at start, served without a token, and appended to the data dir log', async () => {
      publisher = startCheckpointPublisher(
        t.app.services,
        { dataDir: t.database.dataDir, intervalMinutes: 60 },
        (error) => assert.fail(String(error)),
      );
      const set = await publisher.runNow();
      const response = await t.call('GET', PUBLISHED_PATH, { token: null });
      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(response.body, set);
      assert.equal(set.format, PUBLISHED_FORMAT);
      const heads = await currentHeads(t.app.services.store.db);
      assert.ok(heads.size >= 2, 'the platform chain and the organisation');
      assert.deepEqual(
        set.checkpoints.map((c) => [c.checkpoint.chain, c.checkpoint.size, c.checkpoint.head]),
        [...heads].map(([chain, head]) => [chain, head.seq, head.hash]),
        'one checkpoint of every chain, at its head',
      );
      for (const c of set.checkpoints) {
        assert.equal(c.checkpoint.key, set.key);
        assert.ok(verifyDocument(set.key, c.checkpoint, c.signature), 'signed by the deposit key');
      }
      // The start-up run and this one saw the same heads: the log holds each chain once.
      assert.equal(logLines(t).length, heads.size);
    });

    it('append only the chains that moved; the published set is always complete and fresh', async () => {
      const before = await (publisher as CheckpointPublisher).runNow();
      assert.equal(logLines(t).length, before.checkpoints.length, 'a quiet log is not appended to');
      await t.org('beta');
      const after = await (publisher as CheckpointPublisher).runNow();
      const moved = after.checkpoints.filter(
        (c) =>
          !before.checkpoints.some(
            (b) => b.checkpoint.chain === c.checkpoint.chain && b.checkpoint.head === c.checkpoint.head,
          ),
      );
      assert.ok(moved.length >= 2, 'the platform chain grew and the new organisation has one');
      assert.equal(logLines(t).length, before.checkpoints.length + moved.length);
      assert.equal(after.checkpoints.length, before.checkpoints.length + 1);
    });

    it('a witness that fetched them sees a cut tail, from the URL and from a saved copy', async () => {
      const fetched = await fetchCheckpoints(url);
      assert.deepEqual(fetched.unreadable, []);
      const set = (await t.call('GET', PUBLISHED_PATH, { token: null })).body as PublishedCheckpoints;
      // A witness keeps every set it fetches, one a line.
      const saved = join(t.database.dataDir, 'witness.jsonl');
      writeFileSync(saved, `${JSON.stringify(set)}\n${JSON.stringify(set)}\n`);
      const trusted = new Set([set.key]);
      const lookup = databaseLookup(t.app.services.store.db);
      for (const source of [fetched, readCheckpoints(saved)]) {
        const clean = await checkAgainstCheckpoints(source, trusted, lookup);
        assert.deepEqual(clean.problems, []);
        assert.equal(clean.chains, set.checkpoints.length);
      }
      // The database's owner cuts the last entry of acme's chain and rolls its head back.
      const db = t.app.services.store.db;
      const org = await db
        .selectFrom('organizations')
        .select('id')
        .where('slug', '=', 'acme')
        .executeTakeFirstOrThrow();
      const head = await db
        .selectFrom('audit_heads')
        .selectAll()
        .where('chain', '=', org.id)
        .executeTakeFirstOrThrow();
      const prior = await db
        .selectFrom('audit_entries')
        .select('hash')
        .where('chain', '=', org.id)
        .where('seq', '=', Number(head.seq) - 1)
        .executeTakeFirstOrThrow();
      await db.deleteFrom('audit_entries').where('chain', '=', org.id).where('seq', '=', head.seq).execute();
      await db
        .updateTable('audit_heads')
        .set({ seq: Number(head.seq) - 1, hash: prior.hash })
        .where('chain', '=', org.id)
        .execute();
      for (const source of [fetched, readCheckpoints(saved)]) {
        const cut = await checkAgainstCheckpoints(source, trusted, lookup);
        assert.ok(
          cut.problems.some((p) => p.chain === org.id && /the chain ends at entry/.test(p.problem)),
          JSON.stringify(cut.problems),
        );
      }
      // A set signed by another key is worth nothing.
      const untrusted = await checkAgainstCheckpoints(readCheckpoints(saved), new Set(), lookup);
      assert.ok(untrusted.problems.every((p) => /not signed by a trusted deposit key/.test(p.problem)));
    });

    it('are in the OpenAPI document as a public route', async () => {
      const spec = (await t.call('GET', '/openapi.json', { token: null })).body;
      const operation = spec.paths[PUBLISHED_PATH]?.get;
      assert.ok(operation, 'documented');
      assert.ok(operation.tags.includes('public'));
      assert.ok(operation.responses['200'] && operation.responses['404']);
    });

    it('refuses what is not a checkpoint set when fetched', async () => {
      const base = url.slice(0, -PUBLISHED_PATH.length);
      await assert.rejects(fetchCheckpoints(`${base}/healthz`), /is not a set of audit checkpoints/);
      await assert.rejects(fetchCheckpoints(`${base}/nothing-here`), /answered 40[14]/);
    });
  });
}

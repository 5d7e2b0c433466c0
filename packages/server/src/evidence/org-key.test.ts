import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signDocument, verifyDocument } from '../escrow/signing.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`the organisation's evidence key (${dialect})`, () => {
    let t: TestApp;
    let orgId: string;

    before(async () => {
      t = await testApp(dialect);
      orgId = (await t.org('keys')).id;
    });
    after(async () => t.close());

    it('is made once, even when several requests ask for the first key at the same moment', async () => {
      const keys = await Promise.all(Array.from({ length: 6 }, () => t.app.services.orgKeys.current(orgId)));
      assert.equal(new Set(keys.map((k) => k.publicKey)).size, 1);
      const rows = await t.app.services.store.db
        .selectFrom('org_signing_keys')
        .selectAll()
        .where('org_id', '=', orgId)
        .execute();
      assert.equal(rows.length, 1);
      // The key signs, and its public half verifies what it signed.
      const [key] = keys;
      assert.ok(key);
      const signature = signDocument(key.privateKey, { hello: 'world' });
      assert.equal(verifyDocument(key.publicKey, { hello: 'world' }, signature), true);
    });

    it("does not open with another organisation's purpose: a sealed key copied to another row fails", async () => {
      const other = await t.org('keys-other');
      await t.app.services.orgKeys.current(other.id);
      const db = t.app.services.store.db;
      const mine = await db
        .selectFrom('org_signing_keys')
        .select('private_sealed')
        .where('org_id', '=', orgId)
        .executeTakeFirstOrThrow();
      await db
        .updateTable('org_signing_keys')
        .set({ private_sealed: mine.private_sealed })
        .where('org_id', '=', other.id)
        .execute();
      await assert.rejects(t.app.services.orgKeys.current(other.id), /does not open/);
    });

    it('rotates one at a time: two rotations at once leave one chain, never a fork', async () => {
      const results = await Promise.allSettled([
        t.app.services.orgKeys.rotate('test', orgId),
        t.app.services.orgKeys.rotate('test', orgId),
      ]);
      const view = await t.app.services.orgKeys.describe(orgId);
      const inUse = view.history.filter((k) => k.retiredAt === null);
      assert.equal(inUse.length, 1, JSON.stringify(results));
      // Every rotation continues from the key before it.
      for (let i = 1; i < view.rotations.length; i++)
        assert.equal(view.rotations[i]?.statement.from, view.rotations[i - 1]?.statement.to);
      assert.equal(view.rotations.at(-1)?.statement.to, view.publicKey);
    });
  });
}

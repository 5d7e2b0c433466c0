import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { EVENT_TYPES } from './catalogue.js';
import { Outbox } from './outbox.js';

for (const dialect of testDialects) {
  describe(`the outbox of outbound events (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;
    let outbox: Outbox;
    before(async () => {
      database = await freshDatabase(dialect);
      store = await openStore(database.url);
      await migrateToLatest(store.db);
      const now = new Date().toISOString();
      for (const id of ['org_a', 'org_b'])
        await store.db
          .insertInto('organizations')
          .values({
            id,
            slug: id.replace('_', '-'),
            name: id,
            security_contact: null,
            security_policy: null,
            created_at: now,
            updated_at: now,
          })
          .execute();
      outbox = new Outbox({ db: store.db, clock: { now: () => new Date() } });
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    it('records events in the change’s transaction: a rolled-back change leaves no event', async () => {
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await outbox.record('org_a', 'disclosure.received', { disclosureId: 'dsc_1', title: 'x' }, trx);
          throw new Error('the change failed');
        }),
      );
      assert.deepEqual(await outbox.after(null), []);
    });

    it('reads in order from a cursor, and lists one organisation’s events newest first', async () => {
      const first = await outbox.record('org_a', 'disclosure.received', {
        disclosureId: 'dsc_1',
        title: 'x',
      });
      const second = await outbox.record('org_b', 'webhook.test', { message: 'hi' });
      const third = await outbox.record('org_a', 'escrow.failed', { what: 'drill', reason: 'no devices' });
      assert.deepEqual(
        (await outbox.after(null)).map((e) => e.id),
        [first.id, second.id, third.id],
      );
      assert.deepEqual(
        (await outbox.after(first.id)).map((e) => e.id),
        [second.id, third.id],
      );
      assert.deepEqual(
        (await outbox.list('org_a')).map((e) => e.id),
        [third.id, first.id],
      );
      assert.deepEqual(
        (await outbox.list('org_a', { before: third.id })).map((e) => e.id),
        [first.id],
      );
      assert.deepEqual(third.data, { what: 'drill', reason: 'no devices' });
    });

    it('has one catalogue entry per type, each with a schema', () => {
      const types = EVENT_TYPES.map((t) => t.type);
      assert.equal(new Set(types).size, types.length);
      for (const t of EVENT_TYPES) assert.equal(t.schema.type, 'object', t.type);
    });
  });
}

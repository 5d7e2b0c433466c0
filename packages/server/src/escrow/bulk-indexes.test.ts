import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { dropSecondaryIndexes, recreateIndexes } from './bulk-indexes.js';

for (const dialect of testDialects) {
  describe(`indexes around a bulk load (${dialect})`, () => {
    let database: TestDatabase;
    let store: Store;

    const indexesOf = async (table: string) =>
      dialect === 'postgres'
        ? (
            await sql<{ name: string; definition: string }>`
              select indexname as name, indexdef as definition from pg_indexes
              where tablename = ${table} and schemaname = current_schema() order by indexname`.execute(
              store.db,
            )
          ).rows
        : (
            await sql<{ name: string; definition: string | null }>`
              select name, sql as definition from sqlite_master
              where type = 'index' and tbl_name = ${table} order by name`.execute(store.db)
          ).rows;

    before(async () => {
      database = await freshDatabase(dialect);
      store = await openStore(database.url);
      await migrateToLatest(store.db);
    });
    after(async () => {
      await store.close();
      await database.drop();
    });

    it('drops only the secondary indexes and creates them again as they were', async () => {
      for (const table of ['telemetry', 'devices', 'audit_entries']) {
        const before = await indexesOf(table);
        const kept = await store.db.transaction().execute(async (trx) => {
          const dropped = await dropSecondaryIndexes(trx, dialect, table);
          await recreateIndexes(trx, dropped);
          return dropped;
        });
        assert.deepEqual(await indexesOf(table), before, table);
        if (table === 'telemetry')
          assert.deepEqual(
            kept.map((i) => i.name),
            ['telemetry_device_field_ts', 'telemetry_ts'],
          );
      }
    });

    it('leaves the indexes in place when the load fails', async () => {
      const before = await indexesOf('telemetry');
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          await dropSecondaryIndexes(trx, dialect, 'telemetry');
          throw new Error('a malformed chunk');
        }),
        /malformed chunk/,
      );
      assert.deepEqual(await indexesOf('telemetry'), before);
    });
  });
}

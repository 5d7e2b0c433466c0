import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { createApp } from '../app.js';
import { DomainError } from '../errors.js';
import { SecretBox } from '../secrets/master-key.js';
import { openStore } from './db.js';
import { migrateToLatest } from './migrate.js';
import { migrations } from './migrations/index.js';
import { freshDatabase, testDialects } from './test-helper.js';

for (const dialect of testDialects) {
  describe(`migrations (${dialect})`, () => {
    it('create the schema once and are a no-op the second time', async () => {
      const database = await freshDatabase(dialect);
      const store = await openStore(database.url);
      try {
        const first = await migrateToLatest(store.db);
        assert.deepEqual(first.applied, Object.keys(migrations));
        const second = await migrateToLatest(store.db);
        assert.deepEqual(second, { applied: [], current: Object.keys(migrations).at(-1) });
        const tables = await store.db.introspection.getTables();
        for (const name of [
          'organizations',
          'brands',
          'products',
          'devices',
          'api_tokens',
          'audit_entries',
        ]) {
          assert.ok(
            tables.some((t) => t.name === name),
            `${name} exists`,
          );
        }
      } finally {
        await store.close();
        await database.drop();
      }
    });

    it('refuse a database written by a newer brickless, with one clear line', async () => {
      const database = await freshDatabase(dialect);
      const store = await openStore(database.url);
      await migrateToLatest(store.db);
      await sql`insert into kysely_migration (name, timestamp) values ('9999-from-the-future', '2030-01-01')`.execute(
        store.db,
      );
      await store.close();
      try {
        await assert.rejects(
          createApp({ database: database.url, secrets: SecretBox.random(), artifacts: database.dataDir }),
          (error: unknown) => {
            assert.ok(error instanceof DomainError);
            assert.equal(error.code, 'schema-too-new');
            assert.match(error.message, /newer than this brickless.*9999-from-the-future/);
            assert.doesNotMatch(error.message, /\n/);
            return true;
          },
        );
      } finally {
        await database.drop();
      }
    });
  });
}

describe('an unreachable database', () => {
  it('fails with database-unreachable, naming where, without the password', async () => {
    await assert.rejects(openStore('postgres://brickless:s3cret@127.0.0.1:1/brickless'), (error: unknown) => {
      assert.ok(error instanceof DomainError);
      assert.equal(error.code, 'database-unreachable');
      assert.match(
        error.message,
        /cannot reach PostgreSQL at postgres:\/\/brickless:\*\*\*@127\.0\.0\.1:1\/brickless/,
      );
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });
});

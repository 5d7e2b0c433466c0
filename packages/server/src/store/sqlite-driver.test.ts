import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuditLog } from '../audit/service.js';
import { ManualClock } from '../clock.js';
import { DomainError } from '../errors.js';
import { BrandService } from '../fleet/brands.js';
import { openStore } from './db.js';
import { migrateToLatest } from './migrate.js';
import { sqliteDriver } from './sqlite-driver.js';
import { freshDatabase } from './test-helper.js';

describe('SQLite driver', () => {
  it('is node:sqlite where the runtime has it, better-sqlite3 on Node 20', () => {
    const major = Number(process.versions.node.split('.')[0]);
    if (!process.env.BRICKLESS_SQLITE_DRIVER)
      assert.equal(sqliteDriver(), major >= 24 ? 'node' : major === 20 ? 'better-sqlite3' : sqliteDriver());
  });

  it('refuses an unknown forced driver by name', () => {
    const saved = process.env.BRICKLESS_SQLITE_DRIVER;
    process.env.BRICKLESS_SQLITE_DRIVER = 'mysql';
    try {
      assert.throws(() => sqliteDriver(), /BRICKLESS_SQLITE_DRIVER must be node or better-sqlite3/);
    } finally {
      if (saved === undefined) delete process.env.BRICKLESS_SQLITE_DRIVER;
      else process.env.BRICKLESS_SQLITE_DRIVER = saved;
    }
  });

  it('reports constraint violations as conflicts and keeps foreign keys on, on the driver in use', async () => {
    const database = await freshDatabase('sqlite');
    const store = await openStore(database.url);
    try {
      await migrateToLatest(store.db);
      const clock = new ManualClock();
      const brands = new BrandService({
        db: store.db,
        clock,
        audit: new AuditLog({ clock, dialect: 'sqlite' }),
      });
      await store.db
        .insertInto('organizations')
        .values({ id: 'org_1', slug: 'o', name: 'O', created_at: 'x', updated_at: 'x' })
        .execute();
      const input = { name: 'B', responsibleParty: 'P', securityContact: 'mailto:a@b.c' };
      await brands.create('t', 'org_1', input);
      await assert.rejects(
        brands.create('t', 'org_1', input),
        (e: unknown) => e instanceof DomainError && e.code === 'conflict',
      );
      await assert.rejects(brands.create('t', 'org_missing', input), /FOREIGN KEY/i);
      const mode = await store.db.selectNoFrom((eb) => eb.val(1).as('x')).execute();
      assert.deepEqual(
        mode.map((r) => ({ ...r })),
        [{ x: 1 }],
      );
    } finally {
      await store.close();
      await database.drop();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as age from 'age-encryption';
import { sql } from 'kysely';
import { openStore } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { WIDENED } from '../store/migrations/0008-double-precision.js';
import { freshDatabase, testDialects } from '../store/test-helper.js';
import { testApp } from '../test-support/app.js';
import { FilesystemArtifactStore } from '../updates/artifact-store.js';
import { deposit } from './deposit.js';
import { locateDeposit } from './manifest.js';
import { restoreDeposit } from './restore.js';
import { decryptSecrets } from './secrets.js';
import { verifyDeposit } from './verify.js';

/** 15 significant digits: a 4-byte float keeps about 7 of them. */
const PRECISE = 0.123456789012345;

describe('floating columns keep every digit on both dialects (migration 0008)', () => {
  for (const dialect of testDialects)
    it(`${dialect}: a value with 15 significant digits is read back exactly`, async () => {
      const database = await freshDatabase(dialect);
      const store = await openStore(database.url);
      try {
        await migrateToLatest(store.db);
        await store.db.insertInto('vulnerabilities').values(vulnerability('OSV-PRECISE', PRECISE)).execute();
        const row = await store.db
          .selectFrom('vulnerabilities')
          .select('severity_score')
          .where('id', '=', 'OSV-PRECISE')
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.severity_score), PRECISE);
        if (dialect === 'postgres') {
          // No 4-byte float is left anywhere in the schema, not only in the columns listed.
          const narrow = await sql<{ table_name: string; column_name: string }>`
            select table_name, column_name from information_schema.columns
            where table_schema = current_schema() and data_type = 'real'`.execute(store.db);
          assert.deepEqual(narrow.rows, []);
          const wide = await sql<{ table_name: string; column_name: string }>`
            select table_name, column_name from information_schema.columns
            where table_schema = current_schema() and data_type = 'double precision'`.execute(store.db);
          for (const [table, column] of WIDENED)
            assert.ok(
              wide.rows.some((r) => r.table_name === table && r.column_name === column),
              `${table}.${column} is double precision`,
            );
        }
      } finally {
        await store.close();
        await database.drop();
      }
    });

  const target = testDialects.includes('postgres') ? 'postgres' : 'sqlite';
  it(`sqlite → ${target}: verify says restorable, restore succeeds, and the value is unchanged`, async () => {
    const work = mkdtempSync(join(tmpdir(), 'brickless-float-test-'));
    const masterKeyFile = join(work, 'master.key');
    const t = await testApp('sqlite', { masterKeyFile });
    const restored = await freshDatabase(target);
    try {
      await t.app.services.store.db
        .insertInto('vulnerabilities')
        .values(vulnerability('OSV-PRECISE', PRECISE))
        .execute();
      const identity = await age.generateX25519Identity();
      const escrowDir = join(work, 'escrow');
      await deposit(
        {
          database: t.database.url,
          artifacts: new FilesystemArtifactStore(join(t.database.dataDir, 'artifacts')),
          dataDir: t.database.dataDir,
          masterKeyFile,
          config: {},
          openapi: { openapi: '3.1.0' },
        },
        { out: escrowDir, recipients: [await age.identityToRecipient(identity)] },
      );
      const verified = await verifyDeposit(escrowDir, { identity });
      assert.ok(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok)));
      const located = locateDeposit(escrowDir);
      await restoreDeposit(located, {
        database: restored.url,
        secrets: await decryptSecrets(readFileSync(join(located.depositDir, 'secrets.age')), identity),
        artifactDir: join(restored.dataDir, 'artifacts'),
      });
      const store = await openStore(restored.url);
      try {
        const row = await store.db
          .selectFrom('vulnerabilities')
          .select('severity_score')
          .where('id', '=', 'OSV-PRECISE')
          .executeTakeFirstOrThrow();
        assert.equal(Number(row.severity_score), PRECISE, 'not rounded to a 4-byte float');
      } finally {
        await store.close();
      }
    } finally {
      await t.close();
      await restored.drop();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

function vulnerability(id: string, score: number) {
  return {
    id,
    canonical_id: id,
    source: 'osv',
    modified: '2026-01-01T00:00:00.000Z',
    published: null,
    withdrawn: null,
    summary: 'precision',
    details: '',
    aliases: '[]',
    severity_rating: 'medium',
    severity_score: score,
    severity_vector: null,
    reference_urls: '[]',
    imported_at: '2026-01-01T00:00:00.000Z',
  };
}

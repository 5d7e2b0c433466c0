import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { missingMessage, skippedParts } from '../test-support/parts.js';
import type { Dialect } from './db.js';

/**
 * The dialects a test runs on: SQLite always, and PostgreSQL, which BRICKLESS_TEST_PG names. A run
 * without it fails saying how to get PostgreSQL, unless BRICKLESS_TEST_SKIP names `postgres`
 * (issue 15 §4: a test never passes without its part silently; scripts/run-tests.mjs reports the
 * skip). A run with it set fails loudly when the server is unreachable.
 */
export const testDialects: Dialect[] =
  process.env.BRICKLESS_TEST_PG || !skippedParts().has('postgres') ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase {
  /** A value for `--database`: a SQLite file path or a PostgreSQL URL. */
  url: string;
  /** A data dir private to this database (TLS material, artifacts). */
  dataDir: string;
  drop(): Promise<void>;
}

/** A fresh, empty database of the dialect, private to the caller. */
export async function freshDatabase(dialect: Dialect): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'brickless-test-'));
  if (dialect === 'sqlite') {
    return {
      url: join(dataDir, 'brickless.db'),
      dataDir,
      drop: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const adminUrl = process.env.BRICKLESS_TEST_PG;
  if (!adminUrl) throw new Error(missingMessage('postgres'));
  const name = `brickless_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `BRICKLESS_TEST_PG is set but PostgreSQL is unreachable at ${adminUrl}: ${(error as Error).message}`,
    );
  }
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    dataDir,
    drop: async () => {
      rmSync(dataDir, { recursive: true, force: true });
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

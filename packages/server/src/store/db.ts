import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { DomainError } from '../errors.js';
import type { Database } from './schema.js';
import { openSqliteConnection, type SqliteConnection, type SqliteDriverName } from './sqlite-driver.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The engine under Kysely: `pg`, or the SQLite driver in use. */
  driver: SqliteDriverName | 'pg';
  /** Where the data lives, without credentials: a file path or `postgres://host:port/db`. */
  location: string;
  close(): Promise<void>;
}

export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** Removes the password from a connection URL, for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/**
 * Opens the database: a PostgreSQL URL, or else a SQLite file path. Fails with
 * `database-unreachable` (one clear line) when PostgreSQL does not answer.
 */
export async function openStore(database: string): Promise<Store> {
  if (isPostgresUrl(database)) return openPostgres(database);
  return openSqlite(database);
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  let connection: SqliteConnection;
  try {
    connection = openSqliteConnection(file);
  } catch (error) {
    throw new DomainError(
      'database-unreachable',
      `cannot open SQLite database ${file}: ${(error as Error).message}`,
    );
  }
  // WAL lets readers (a CLI next to a running server) proceed during writes; NORMAL is durable
  // across process crashes in WAL mode and only risks the last commits on power loss.
  connection.exec(
    'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;',
  );
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: connection.database }) });
  return {
    db,
    dialect: 'sqlite',
    driver: connection.driver,
    location: file,
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server must not crash the process: pg emits 'error' on the pool.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    throw new DomainError(
      'database-unreachable',
      `cannot reach PostgreSQL at ${redactUrl(url)}: ${(error as Error).message || String(error)}`,
    );
  }
  return { db, dialect: 'postgres', driver: 'pg', location: redactUrl(url), close: () => db.destroy() };
}

/** True when the error is a unique-constraint violation, on either dialect. */
// SQLite extended result codes, as node:sqlite reports them in `errcode`.
const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_CONSTRAINT_PRIMARYKEY = 1555;
const SQLITE_CONSTRAINT_FOREIGNKEY = 787;

export function isUniqueViolation(error: unknown): boolean {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  return (
    code === '23505' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    errcode === SQLITE_CONSTRAINT_UNIQUE ||
    errcode === SQLITE_CONSTRAINT_PRIMARYKEY
  );
}

/** True when the error is a foreign-key violation, on either dialect. */
export function isForeignKeyViolation(error: unknown): boolean {
  const { code, errcode } = (error ?? {}) as { code?: unknown; errcode?: unknown };
  return (
    code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || errcode === SQLITE_CONSTRAINT_FOREIGNKEY
  );
}

export async function ping(db: Kysely<Database>): Promise<void> {
  await sql`select 1`.execute(db);
}

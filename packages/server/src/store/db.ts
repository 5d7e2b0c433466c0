import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CompiledQuery, type Driver, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { DomainError } from '../errors.js';
import { DatabaseHealth } from './health.js';
import { bulkTimeouts, loadPg, type PostgresTimeouts, ResilientPool } from './pg-pool.js';
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
  /** Failures and recoveries of the database, for logs, metrics and readiness. */
  health: DatabaseHealth;
  close(): Promise<void>;
}

export interface StoreOptions {
  /**
   * PostgreSQL timeouts and connect backoff (pg-pool.ts). By default those of bulk tools (restore,
   * deposit, `migrate`: no statement limits); the server (createApp) passes `serverTimeouts`.
   */
  postgres?: PostgresTimeouts;
}

/**
 * How long a SQLite write waits for a lock another connection holds (a CLI next to the server)
 * before it fails. Short on purpose: the SQLite drivers are synchronous, so the wait blocks the
 * whole event loop (devices, /readyz); a failed telemetry write is not acknowledged and is sent
 * again, which costs far less than a frozen process.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 1000;

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
export async function openStore(database: string, options: StoreOptions = {}): Promise<Store> {
  if (isPostgresUrl(database)) return openPostgres(database, options.postgres ?? bulkTimeouts);
  return openSqlite(database);
}

/**
 * SQLite transactions begin with the write lock (BEGIN IMMEDIATE, sqlite.org/lang_transaction.html).
 * A deferred transaction that reads first and writes later cannot wait for the lock in WAL mode:
 * if another process (the server next to a CLI in direct mode, whose heartbeat and jobs write every
 * few seconds) committed in between, its write fails at once with SQLITE_BUSY, whatever the busy
 * timeout. Taken at the start, the lock is waited for like any other.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    const driver = super.createDriver();
    driver.beginTransaction = async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('begin immediate'));
    };
    return driver;
  }
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
    `PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS};`,
  );
  const db = new Kysely<Database>({
    dialect: new ImmediateSqliteDialect({ database: connection.database }),
  });
  return {
    db,
    dialect: 'sqlite',
    driver: connection.driver,
    location: file,
    health: new DatabaseHealth(),
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string, timeouts: PostgresTimeouts): Promise<Store> {
  const health = new DatabaseHealth();
  const pool = new ResilientPool(await loadPg(), url, health, timeouts);
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
  return {
    db,
    dialect: 'postgres',
    driver: 'pg',
    location: redactUrl(url),
    health,
    close: () => db.destroy(),
  };
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

/**
 * Readiness: one committed write (this node's heartbeat row), not only `select 1`. A database that
 * answers reads but cannot commit (a read-only standby after a failover, a full disk, a lock held
 * elsewhere) is not ready. Rejects with `database-unreachable` when the write fails or takes
 * longer than `deadlineMs`; the write itself is left to its own timeouts.
 */
export async function probeWrite(store: Store, nodeId: string, deadlineMs: number): Promise<void> {
  const now = Date.now();
  const write = store.db
    .insertInto('node_heartbeats')
    .values({ node_id: nodeId, checked_at: now })
    .onConflict((oc) => oc.column('node_id').doUpdateSet({ checked_at: now }))
    .execute();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no committed write within ${deadlineMs} ms`)), deadlineMs);
  });
  try {
    await Promise.race([write, deadline]);
    store.health.succeeded();
  } catch (error) {
    write.catch(() => {}); // a write that outlives the deadline fails on its own timeouts
    store.health.failed('probe', error);
    throw new DomainError(
      'database-unreachable',
      `database cannot commit a write: ${(error as Error).message || String(error)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

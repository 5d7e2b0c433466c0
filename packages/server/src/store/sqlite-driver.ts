import { createRequire } from 'node:module';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * The SQLite engine under Kysely. Node's built-in `node:sqlite` where the runtime has it without
 * a flag (Node 22.13+, 24), better-sqlite3 on Node 20. better-sqlite3 12 (the last line for Node
 * 20) aborts the process on Node 24.19+ when the garbage collector frees a statement (nodejs/node
 * #65446; fixed only in better-sqlite3 13, which needs Node 22), so it is never loaded there
 * (decision 0007). `BRICKLESS_SQLITE_DRIVER=better-sqlite3|node` forces one.
 */
export type SqliteDriverName = 'node' | 'better-sqlite3';

export interface SqliteConnection {
  driver: SqliteDriverName;
  database: SqliteDatabase;
  /** Runs one or more statements without results (pragmas, DDL). */
  exec(sql: string): void;
}

const require = createRequire(import.meta.url);

/** The part of `node:sqlite` used here (typed locally: @types/node 20 does not know the module). */
interface NodeSqliteStatement {
  columns(): unknown[];
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
}
interface NodeSqlite {
  DatabaseSync: new (
    file: string,
  ) => { prepare(sql: string): NodeSqliteStatement; exec(sql: string): void; close(): void };
}

function builtinSqlite(): NodeSqlite | undefined {
  // getBuiltinModule answers undefined, rather than throwing, where the module is missing or flagged.
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  return get?.('node:sqlite') as NodeSqlite | undefined;
}

export function sqliteDriver(): SqliteDriverName {
  const forced = process.env.BRICKLESS_SQLITE_DRIVER;
  if (forced === 'node' || forced === 'better-sqlite3') return forced;
  if (forced)
    throw new Error(`BRICKLESS_SQLITE_DRIVER must be node or better-sqlite3, not ${JSON.stringify(forced)}`);
  return builtinSqlite() ? 'node' : 'better-sqlite3';
}

export function openSqliteConnection(file: string): SqliteConnection {
  const driver = sqliteDriver();
  if (driver === 'better-sqlite3') {
    const BetterSqlite = require('better-sqlite3') as typeof import('better-sqlite3');
    const db = new BetterSqlite(file);
    return { driver, database: db, exec: (sql) => db.exec(sql) };
  }
  const sqlite = builtinSqlite();
  if (!sqlite)
    throw new Error(
      'node:sqlite is not available in this Node.js; use BRICKLESS_SQLITE_DRIVER=better-sqlite3',
    );
  const db = new sqlite.DatabaseSync(file);
  const database: SqliteDatabase = {
    close: () => db.close(),
    prepare(sql: string): SqliteStatement {
      const statement = db.prepare(sql);
      // node:sqlite binds positional parameters as separate arguments, better-sqlite3 (Kysely's
      // model) as one array.
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...parameters),
        run: (parameters) => statement.run(...parameters),
        iterate: (parameters) => statement.iterate(...parameters),
      };
    },
  };
  return { driver, database, exec: (sql) => db.exec(sql) };
}

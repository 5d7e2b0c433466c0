import { type Kysely, sql, type Transaction } from 'kysely';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { ObjectStore } from './objects.js';
import type { ColumnInfo } from './tables.js';

export interface ChunkEntry {
  /** SHA-256 of the chunk's NDJSON text: the object's name. */
  sha256: string;
  rows: number;
  /** Size of the stored (gzip) object. */
  bytes: number;
}

export interface TableEntry {
  columns: string[];
  rows: number;
  chunks: ChunkEntry[];
}

export type ExportProgress = (table: string, rows: number) => void;

const PAGE_ROWS = 5000;
/** A chunk ends after a row whose hash has these low bits clear: 1 in 4096 rows on average. */
const BOUNDARY_MASK = 4095;
const MAX_CHUNK_ROWS = 65_536;
const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

/** FNV-1a over the line: cheap, and the same line always gives the same boundary decision. */
function lineHash(line: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < line.length; i++) {
    h ^= line.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Streams one table into chunk objects. Rows are read in pages (SQLite: by rowid; PostgreSQL: a
 * cursor) inside the caller's snapshot transaction, so no key column is needed and 10 million rows never sit in memory. Each row is
 * one line: a JSON array of the values in column order, text as strings, numbers as numbers,
 * nulls as null, the same on either dialect. Chunk boundaries depend on the rows' content, not
 * their position, so a row added or changed in a later deposit changes one chunk, not every
 * chunk after it.
 */
export async function exportTable(
  trx: Transaction<Database> | Kysely<Database>,
  dialect: Dialect,
  table: string,
  columns: ColumnInfo[],
  objects: ObjectStore,
  onRows: (rows: number, newBytes: number) => void,
): Promise<TableEntry> {
  const entry: TableEntry = { columns: columns.map((c) => c.name), rows: 0, chunks: [] };
  let lines: string[] = [];
  let bytes = 0;
  const flush = async () => {
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    const stored = await objects.putChunk(text);
    entry.chunks.push({ sha256: stored.sha256, rows: lines.length, bytes: stored.bytes });
    onRows(0, stored.written ? stored.bytes : 0);
    lines = [];
    bytes = 0;
  };
  const selectList = sql.join(columns.map((c) => sql.ref(c.name)));
  const addRow = async (row: Record<string, unknown>) => {
    const values = columns.map((c) => {
      const value = row[c.name];
      // pg returns bigint as text; SQLite may hand back a bigint for very large integers. A value
      // that is no exact JSON number (text in a SQLite integer column, beyond 2^53) is refused:
      // written as null or rounded, it would be lost without a word.
      if (c.numeric && value !== null && value !== undefined && typeof value !== 'number') {
        const number = Number(value);
        if (
          !Number.isFinite(number) ||
          (typeof value !== 'string' && typeof value !== 'bigint') ||
          String(number) !== String(value)
        )
          throw new Error(
            `escrow: table ${table} column ${c.name} holds ${JSON.stringify(String(value)).slice(0, 40)}, which is not a number a deposit can carry exactly`,
          );
        return number;
      }
      return value ?? null;
    });
    const line = JSON.stringify(values);
    lines.push(line);
    bytes += line.length + 1;
    entry.rows++;
    if ((lineHash(line) & BOUNDARY_MASK) === 0 || lines.length >= MAX_CHUNK_ROWS || bytes >= MAX_CHUNK_BYTES)
      await flush();
  };
  if (dialect === 'postgres') {
    // A server-side cursor inside the snapshot transaction: one scan, fetched page by page.
    // (Paging by ctid ranges makes PostgreSQL sort the rest of the table for every page.)
    const cursor = sql.id(`escrow_${table}`);
    await sql`declare ${cursor} no scroll cursor for select ${selectList} from ${sql.table(table)}`.execute(
      trx,
    );
    for (;;) {
      const page = await sql<
        Record<string, unknown>
      >`fetch forward ${sql.raw(String(PAGE_ROWS))} from ${cursor}`.execute(trx);
      for (const row of page.rows) await addRow(row);
      onRows(page.rows.length, 0);
      if (page.rows.length < PAGE_ROWS) break;
    }
    await sql`close ${cursor}`.execute(trx);
  } else {
    let after = -1;
    for (;;) {
      const page = await sql<
        Record<string, unknown>
      >`select rowid as "__rk", ${selectList} from ${sql.table(table)}
        where rowid > ${after} order by rowid limit ${PAGE_ROWS}`.execute(trx);
      for (const row of page.rows) await addRow(row);
      onRows(page.rows.length, 0);
      if (page.rows.length < PAGE_ROWS) break;
      after = Number(page.rows[page.rows.length - 1]?.__rk);
    }
  }
  await flush();
  return entry;
}

import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { TableEntry } from './data-export.js';
import type { ObjectStore } from './objects.js';

/** Bound parameters per INSERT: under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_PARAMETERS = 30_000;
const MAX_BATCH_ROWS = 1000;

/**
 * Inserts one table's chunks. Every line is checked to be an array of as many values as the
 * manifest names columns; a malformed line stops the restore with its chunk and line number
 * (the caller's transaction then leaves the database as it was).
 */
export async function importTable(
  trx: Transaction<Database>,
  table: string,
  entry: TableEntry,
  targetColumns: string[],
  objects: ObjectStore,
  onRows: (rows: number) => void,
): Promise<number> {
  const missing = entry.columns.filter((c) => !targetColumns.includes(c));
  if (missing.length > 0)
    throw new Error(`table ${table}: the bundle has columns the target schema lacks: ${missing.join(', ')}`);
  const batchRows = Math.max(1, Math.min(MAX_BATCH_ROWS, Math.floor(MAX_PARAMETERS / entry.columns.length)));
  let inserted = 0;
  let batch: Record<string, unknown>[] = [];
  // One INSERT runs while the next batch is parsed: the database and the parsing overlap instead
  // of taking turns. The failure of a running INSERT is kept and thrown at the next wait.
  let running: Promise<void> | null = null;
  let failure: { error: unknown } | null = null;
  const settle = async () => {
    if (running) await running;
    running = null;
    if (failure) throw failure.error;
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const rows = batch;
    batch = [];
    await settle();
    running = trx
      .insertInto(table as never)
      .values(rows as never)
      .execute()
      .then(
        () => {
          inserted += rows.length;
          onRows(rows.length);
        },
        (error: unknown) => {
          failure = { error };
        },
      );
  };
  for (const chunk of entry.chunks) {
    const text = await objects.readChunk(chunk.sha256);
    const lines = text.split('\n');
    if (lines.pop() !== '')
      throw new Error(`table ${table}: chunk ${chunk.sha256} does not end with a newline`);
    if (lines.length !== chunk.rows)
      throw new Error(
        `table ${table}: chunk ${chunk.sha256} holds ${lines.length} rows, the manifest says ${chunk.rows}`,
      );
    for (const [index, line] of lines.entries()) {
      let values: unknown;
      try {
        values = JSON.parse(line);
      } catch {
        throw new Error(`table ${table}: chunk ${chunk.sha256} line ${index + 1} is not JSON`);
      }
      if (!Array.isArray(values) || values.length !== entry.columns.length)
        throw new Error(
          `table ${table}: chunk ${chunk.sha256} line ${index + 1} does not have ${entry.columns.length} values`,
        );
      const row: Record<string, unknown> = {};
      entry.columns.forEach((column, i) => {
        row[column] = values[i];
      });
      batch.push(row);
      if (batch.length >= batchRows) await flush();
    }
  }
  await flush();
  await settle();
  if (inserted !== entry.rows)
    throw new Error(`table ${table}: restored ${inserted} rows, the manifest says ${entry.rows}`);
  return inserted;
}

import Table from 'cli-table3';
import { escapeForDisplay } from '../text.js';

export interface OutputOptions {
  json: boolean;
  /** Tables also show the columns marked 'wide' (ids): `--wide`. */
  wide?: boolean;
  /** A command context carries the global options, `--wide` among them. */
  options?: { wide?: boolean | undefined };
  /** `--quiet`: only the id of what the command made or shows, so a script can capture it. */
  quiet?: boolean;
}

/**
 * A table column: heading and value. Columns marked 'wide' (internal ids) show only with
 * `--wide`: people read serials, names and models; scripts take `--json`.
 */
export type Column<T> = [heading: string, pick: (row: T) => unknown, only?: 'wide'];

export function isWide(options: OutputOptions): boolean {
  return options.wide ?? options.options?.wide ?? false;
}

/** Prints a value as JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(cell).join(', ');
  // Stored text may carry bidirectional overrides: shown escaped, never obeyed (text.ts).
  if (typeof value === 'object') return escapeForDisplay(JSON.stringify(value));
  return escapeForDisplay(String(value));
}

/** A readable table of rows, with the chosen columns and headings. */
export function printTable<T>(rows: T[], allColumns: Column<T>[], wide = false): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const columns = allColumns.filter(([, , only]) => wide || only !== 'wide');
  const table = new Table({ head: columns.map(([heading]) => heading), style: { head: [], border: [] } });
  for (const row of rows) table.push(columns.map(([, pick]) => cell(pick(row))));
  process.stdout.write(`${table.toString()}\n`);
}

/** One object as aligned `key: value` lines. */
export function printRecord(record: Record<string, unknown>, keys?: string[]): void {
  const entries = (keys ?? Object.keys(record)).map((k) => [k, cell(record[k])] as const);
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [k, v] of entries) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

export function printWarnings(warnings: { code: string; message: string }[] | undefined): void {
  for (const w of warnings ?? []) process.stderr.write(`warning: ${w.message}\n`);
}

function idOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

/** Emits JSON, the id alone (`--quiet`), or the human form. */
export function emit(options: OutputOptions, value: unknown, human: () => void): void {
  const id = options.quiet ? idOf(value) : undefined;
  if (options.json) printJson(value);
  else if (id !== undefined) process.stdout.write(`${id}\n`);
  else human();
}

/** A page of a list: a table and how to get the next page, or the JSON as the API returned it. */
export function emitPage<T>(
  options: OutputOptions,
  page: { items: T[]; nextCursor: string | null },
  columns: Column<T>[],
): void {
  if (options.quiet && !options.json) {
    for (const item of page.items) {
      const id = idOf(item);
      if (id !== undefined) process.stdout.write(`${id}\n`);
    }
    return;
  }
  emit(options, page, () => {
    printTable(page.items, columns, isWide(options));
    if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
  });
}

import Table from 'cli-table3';

export interface OutputOptions {
  json: boolean;
}

/** Prints a value as JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(cell).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A readable table of rows, with the chosen columns and headings. */
export function printTable<T>(rows: T[], columns: [heading: string, pick: (row: T) => unknown][]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
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

/** Emits either JSON or the human form. */
export function emit(options: OutputOptions, value: unknown, human: () => void): void {
  if (options.json) printJson(value);
  else human();
}

/** A page of a list: a table and how to get the next page, or the JSON as the API returned it. */
export function emitPage<T>(
  options: OutputOptions,
  page: { items: T[]; nextCursor: string | null },
  columns: [heading: string, pick: (row: T) => unknown][],
): void {
  emit(options, page, () => {
    printTable(page.items, columns);
    if (page.nextCursor) process.stdout.write(`more: --cursor ${page.nextCursor}\n`);
  });
}

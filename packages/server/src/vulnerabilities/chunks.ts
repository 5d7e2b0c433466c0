/** Splits long IN lists and multi-row inserts: SQLite allows 32,766 bound values, PostgreSQL 65,535. */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

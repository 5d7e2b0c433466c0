import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Tombstone } from './ledger.js';

/** A device the owner holds, and since when: the period whose data is theirs. */
export interface HeldDevice {
  deviceId: string;
  orgId: string;
  /** owner, or a role given by sharing (user, guest). */
  role: string;
  /** When this owner claimed it (or was given it): data before belongs to someone else. */
  since: string;
}

export interface ExportContext {
  db: Kysely<Database>;
  ownerId: string;
  email: string;
  /** Every device they hold, in claim order. */
  devices: HeldDevice[];
  /** Only the devices they own (role `owner`): the device's own data goes to its owner. */
  owned: HeldDevice[];
  /** When the export was made (ISO 8601). */
  at: string;
}

/** Where a source writes its part of the export archive. Each name is a path inside the zip. */
export interface ExportSink {
  json(name: string, value: unknown): Promise<void>;
  /** A JSON array written row by row: a long history never sits in memory whole. */
  jsonRows(name: string, rows: AsyncIterable<unknown>): Promise<void>;
  /** RFC 4180 CSV with a header line, written row by row. */
  csv(name: string, header: string[], rows: AsyncIterable<unknown[]>): Promise<void>;
}

export interface DeleteContext {
  trx: Transaction<Database>;
  ownerId: string;
  email: string;
  devices: HeldDevice[];
  owned: HeldDevice[];
  /** The moment of deletion (ISO 8601); the upper end of every time range deleted. */
  at: string;
  /** Records what was deleted in the deletion ledger (table, opaque key, time range; no data). */
  tombstone(t: Omit<Tombstone, 'reason'>): void;
}

/**
 * One kind of data about an owner (GDPR Art. 15, 17, 20): how it goes into their export and how
 * it is deleted with their account. Adding a table that holds owner data (shares, notices, app
 * grants, …) means adding one entry to OWNER_DATA_SOURCES; `ownerTable` covers the common case of
 * rows keyed by an owner column.
 */
export interface OwnerDataSource {
  /** Stable name; the key of its count in the `owner.delete` audit entry. */
  name: string;
  /** What README.txt says about its files. */
  describe: string;
  export(ctx: ExportContext, sink: ExportSink): Promise<void>;
  /** Deletes the owner's rows inside the deletion's transaction; returns how many. */
  delete(ctx: DeleteContext): Promise<number>;
}

const PAGE = 1000;

/**
 * A source for a table whose rows belong to an owner by one column (e.g. `owner_id`): exported
 * as `<file>.json` (every column), deleted with the account and tombstoned when deposited.
 */
export function ownerTable(options: {
  name: string;
  table: keyof Database & string;
  column: string;
  /** A column that orders rows stably (a primary key) for paging. */
  orderBy: string;
  describe: string;
  /** False for tables a deposit leaves out (nothing to tombstone). */
  deposited?: boolean;
}): OwnerDataSource {
  const { name, table, column, orderBy } = options;
  return {
    name,
    describe: options.describe,
    async export(ctx, sink) {
      await sink.jsonRows(`${name}.json`, pages(ctx.db, table, column, ctx.ownerId, orderBy));
    },
    async delete(ctx) {
      const done = await ctx.trx
        .deleteFrom(table as never)
        .where(column as never, '=', ctx.ownerId as never)
        .executeTakeFirst();
      if (options.deposited !== false) ctx.tombstone({ table, scopeColumn: column, scopeValue: ctx.ownerId });
      return Number(done.numDeletedRows);
    },
  };
}

async function* pages(
  db: Kysely<Database>,
  table: string,
  column: string,
  value: string,
  orderBy: string,
): AsyncIterable<unknown> {
  let after: string | null = null;
  for (;;) {
    let q = db
      .selectFrom(table as never)
      .selectAll()
      .where(column as never, '=', value as never)
      .orderBy(orderBy as never)
      .limit(PAGE);
    if (after !== null) q = q.where(orderBy as never, '>', after as never);
    const rows = (await q.execute()) as Record<string, unknown>[];
    yield* rows;
    if (rows.length < PAGE) return;
    after = String(rows[rows.length - 1]?.[orderBy]);
  }
}

import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { notFound } from '../errors.js';
import type { Database } from '../store/schema.js';
import type { OwnerNoticeKind } from './catalogue.js';

/** A notice as the owner and their apps see it. */
export interface OwnerNotice {
  id: string;
  kind: OwnerNoticeKind;
  productId: string;
  /** Null for a notice about the product as a whole (support period, sunset). */
  deviceId: string | null;
  language: string;
  title: string;
  body: string;
  /** The facts behind the text (dates, versions), for an app that renders its own. */
  data: Record<string, unknown>;
  createdAt: string;
  readAt: string | null;
  /** pending, sending, sent, failed, off (no SMTP server) or muted (the device was released). */
  email: string;
}

export interface NoticePage {
  items: OwnerNotice[];
  unread: number;
  nextCursor: string | null;
}

type Db = Pick<Kysely<Database>, 'selectFrom' | 'updateTable'>;

/**
 * An owner's notices, newest first (issue 18 §3). The one listing both `/v1/owner/notices` and
 * the app API call: always one owner's own rows, never anyone else's. Notices about a device the
 * owner has since released stay: they were told, and the record of it is theirs.
 */
export async function noticesForOwner(
  db: Db,
  ownerId: string,
  options: {
    unread?: boolean;
    kind?: OwnerNoticeKind;
    before?: string;
    limit?: number;
    /** Only notices about products of this organisation: what a maker's app may show (app API). */
    orgId?: string;
  } = {},
): Promise<NoticePage> {
  const limit = options.limit ?? 50;
  const { orgId } = options;
  const ofOrg = orgId
    ? db.selectFrom('products').select('products.id').where('products.org_id', '=', orgId)
    : null;
  let query = db
    .selectFrom('owner_notices')
    .selectAll()
    .where('owner_id', '=', ownerId)
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (ofOrg) query = query.where('product_id', 'in', ofOrg);
  if (options.unread) query = query.where('read_at', 'is', null);
  if (options.kind) query = query.where('kind', '=', options.kind);
  if (options.before) query = query.where('id', '<', options.before);
  const rows = await query.execute();
  let unreadQuery = db
    .selectFrom('owner_notices')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('owner_id', '=', ownerId)
    .where('read_at', 'is', null);
  if (ofOrg) unreadQuery = unreadQuery.where('product_id', 'in', ofOrg);
  const unread = await unreadQuery.executeTakeFirstOrThrow();
  const page = rows.slice(0, limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      kind: r.kind as OwnerNoticeKind,
      productId: r.product_id,
      deviceId: r.device_id,
      language: r.language,
      title: r.title,
      body: r.body,
      data: JSON.parse(r.data) as Record<string, unknown>,
      createdAt: r.created_at,
      readAt: r.read_at,
      email: r.email_status,
    })),
    unread: Number(unread.n),
    nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
  };
}

/** Marks one of the owner's notices read (keeps the first time); another owner's is not found. */
export async function markNoticeRead(
  db: Db,
  clock: Clock,
  ownerId: string,
  id: string,
): Promise<{ id: string; readAt: string }> {
  const row = await db
    .selectFrom('owner_notices')
    .select(['id', 'read_at'])
    .where('owner_id', '=', ownerId)
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) throw notFound('notice', id);
  if (row.read_at) return { id, readAt: row.read_at };
  const readAt = clock.now().toISOString();
  await db
    .updateTable('owner_notices')
    .set({ read_at: readAt })
    .where('owner_id', '=', ownerId)
    .where('id', '=', id)
    .where('read_at', 'is', null)
    .execute();
  return { id, readAt };
}

/** Marks every notice of the owner read. */
export async function markAllNoticesRead(db: Db, clock: Clock, ownerId: string): Promise<{ read: number }> {
  const result = await db
    .updateTable('owner_notices')
    .set({ read_at: clock.now().toISOString() })
    .where('owner_id', '=', ownerId)
    .where('read_at', 'is', null)
    .executeTakeFirst();
  return { read: Number(result.numUpdatedRows) };
}

import type { Kysely, Transaction } from 'kysely';
import type { Language } from '../notifications/texts.js';
import type { Database } from '../store/schema.js';

/** One person holding one device that a notice is about. */
export interface NoticeHolder {
  ownerId: string;
  email: string;
  language: Language;
  deviceId: string;
  serial: string;
  /** owner, user or guest: household members a device is shared with hear of it too. */
  role: string;
}

/**
 * Who is told about devices (issue 18 §3): every person holding one of them now, in any role.
 * Sharing (household members as `user` or `guest`) extends this one query and nothing else; a
 * released device has no row here, so its former owner hears nothing more about it. Scope:
 * the listed devices, or every live device of the product when `deviceIds` is null.
 */
export async function noticeHolders(
  db: Kysely<Database> | Transaction<Database>,
  orgId: string,
  scope: { productId: string; deviceIds: string[] | null },
): Promise<NoticeHolder[]> {
  if (scope.deviceIds !== null && scope.deviceIds.length === 0) return [];
  let query = db
    .selectFrom('device_owners as do')
    .innerJoin('devices as d', 'd.id', 'do.device_id')
    .innerJoin('owners as o', 'o.id', 'do.owner_id')
    .select(['o.id as ownerId', 'o.email', 'o.language', 'd.id as deviceId', 'd.serial', 'do.role'])
    // Tenant isolation: the event's organisation and product, never another's devices.
    .where('d.org_id', '=', orgId)
    .where('d.product_id', '=', scope.productId)
    .where('d.deleted_at', 'is', null)
    .orderBy('o.id')
    .orderBy('d.serial');
  if (scope.deviceIds !== null) query = query.where('d.id', 'in', scope.deviceIds);
  const rows = await query.execute();
  return rows.map((r) => ({
    ownerId: r.ownerId,
    email: r.email,
    language: r.language === 'de' ? 'de' : 'en',
    deviceId: r.deviceId,
    serial: r.serial,
    role: r.role,
  }));
}

/** True while the owner holds the device (or, for a product-wide notice, any device of the product). */
export async function stillHolds(
  db: Kysely<Database>,
  ownerId: string,
  notice: { org_id: string; product_id: string; device_id: string | null },
): Promise<boolean> {
  let query = db
    .selectFrom('device_owners as do')
    .innerJoin('devices as d', 'd.id', 'do.device_id')
    .select('d.id')
    .where('do.owner_id', '=', ownerId)
    .where('d.org_id', '=', notice.org_id)
    .where('d.product_id', '=', notice.product_id)
    .where('d.deleted_at', 'is', null);
  if (notice.device_id) query = query.where('d.id', '=', notice.device_id);
  return (await query.limit(1).executeTakeFirst()) !== undefined;
}

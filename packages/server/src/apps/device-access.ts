import type { Kysely } from 'kysely';
import { DomainError, notFound } from '../errors.js';
import type { Database } from '../store/schema.js';

/** What a person may do with a device: read it, or control it as well. */
export type DeviceAccess = 'read' | 'control';

/**
 * The one place that decides what an owner's role on a device allows (issue 18 §1–2): `owner`
 * and `user` control it, `guest` only reads. Sharing adds roles here, and only here.
 */
export function accessOfRole(role: string): DeviceAccess | null {
  if (role === 'owner' || role === 'user') return 'control';
  if (role === 'guest') return 'read';
  return null;
}

/**
 * The devices this owner may see, in one organisation, with what they may do with each. Every
 * app API request goes through here: a device of another owner or another organisation, a
 * deleted one, or none, is simply not in the list.
 */
export function ownerDevicesQuery(db: Kysely<Database>, ownerId: string, orgId: string) {
  return db
    .selectFrom('device_owners')
    .innerJoin('devices', 'devices.id', 'device_owners.device_id')
    .where('device_owners.owner_id', '=', ownerId)
    .where('devices.org_id', '=', orgId)
    .where('devices.deleted_at', 'is', null);
}

/**
 * Checks that the owner may do `need` with the device in the organisation. A device they cannot
 * see is `404`, exactly like one that does not exist; one they only see (a guest) is `403` for control.
 */
export async function assertDeviceAccess(
  db: Kysely<Database>,
  ownerId: string,
  orgId: string,
  deviceId: string,
  need: DeviceAccess,
): Promise<void> {
  const row = await ownerDevicesQuery(db, ownerId, orgId)
    .select('device_owners.role')
    .where('devices.id', '=', deviceId)
    .executeTakeFirst();
  const access = row ? accessOfRole(row.role) : null;
  if (!access) throw notFound('device', deviceId);
  if (need === 'control' && access !== 'control')
    throw new DomainError('forbidden', 'your role on this device only lets you see it, not change it');
}

/**
 * When the device's current ownership began (the owner's claim), or null when nobody owns it.
 * Household members see from there too: the history is the household's, not a previous owner's.
 */
export async function ownershipStart(db: Kysely<Database>, deviceId: string): Promise<string | null> {
  const row = await db
    .selectFrom('device_owners')
    .select('created_at')
    .where('device_id', '=', deviceId)
    .where('role', '=', 'owner')
    .executeTakeFirst();
  return row?.created_at ?? null;
}

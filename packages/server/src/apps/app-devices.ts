import type { Kysely } from 'kysely';
import type { DeviceRole, OwnedDevice } from '../owners/claims.js';
import type { Database } from '../store/schema.js';
import { accessOfRole, ownerDevicesQuery } from './device-access.js';

export interface AppDevices {
  list(ownerId: string, orgId: string): Promise<OwnedDevice[]>;
  get(ownerId: string, orgId: string, deviceId: string): Promise<OwnedDevice | undefined>;
}

/** The owner's devices as an app sees them: those of the app's organisation the owner may see. */
export function appDevices(db: Kysely<Database>): AppDevices {
  const query = (ownerId: string, orgId: string) =>
    ownerDevicesQuery(db, ownerId, orgId)
      .innerJoin('products', 'products.id', 'devices.product_id')
      .select([
        'devices.id',
        'device_owners.role',
        'device_owners.created_at as claimed_at',
        'products.name as product_name',
        'products.model_number',
        'products.support_ends',
        'devices.serial',
        'devices.online',
        'devices.firmware_version',
      ]);
  type Row = Awaited<ReturnType<ReturnType<typeof query>['executeTakeFirstOrThrow']>>;
  const toOwned = (row: Row): OwnedDevice => ({
    id: row.id,
    role: row.role as DeviceRole,
    productName: row.product_name,
    modelNumber: row.model_number,
    serial: row.serial,
    online: Number(row.online) === 1,
    firmwareVersion: row.firmware_version,
    supportEnds: row.support_ends,
    claimedAt: row.claimed_at,
  });
  return {
    async list(ownerId, orgId) {
      const rows = await query(ownerId, orgId)
        .orderBy('device_owners.created_at')
        .orderBy('devices.id')
        .execute();
      return rows.filter((r) => accessOfRole(r.role) !== null).map(toOwned);
    },
    async get(ownerId, orgId, deviceId) {
      const row = await query(ownerId, orgId).where('devices.id', '=', deviceId).executeTakeFirst();
      return row && accessOfRole(row.role) !== null ? toOwned(row) : undefined;
    },
  };
}

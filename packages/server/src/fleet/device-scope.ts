import { DomainError, notFound } from '../errors.js';
import type { Executor } from '../store/transaction.js';

/**
 * The tenant check every device-scoped service makes first: the device exists in this
 * organisation (and, unless `includeDeleted`, is not decommissioned). Another organisation's
 * device is "not found", exactly like a missing one.
 */
export async function assertDeviceInOrg(
  db: Executor,
  orgId: string,
  deviceId: string,
  options: { includeDeleted?: boolean } = {},
): Promise<void> {
  let q = db.selectFrom('devices').select('id').where('org_id', '=', orgId).where('id', '=', deviceId);
  if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
  if (!(await q.executeTakeFirst())) throw notFound('device', deviceId);
}

/**
 * Refuses to steer a device that left this server: handed over to a successor (`moving`) or
 * switched to local mode under a signed endpoint record (docs/continuity.md). The successor,
 * where the device reported `arrived`, controls it; a second controller would fight it.
 */
export async function assertStillControlled(db: Executor, deviceId: string): Promise<void> {
  const row = await db
    .selectFrom('devices')
    .select(['endpoint_status', 'endpoint_version'])
    .where('id', '=', deviceId)
    .executeTakeFirst();
  if (row?.endpoint_status === 'moving' || row?.endpoint_status === 'local')
    throw new DomainError(
      'device-moved',
      `device ${deviceId} ${row.endpoint_status === 'local' ? 'switched to local mode' : 'moved to another server'} under endpoint record version ${row.endpoint_version}; this server no longer controls it`,
    );
}

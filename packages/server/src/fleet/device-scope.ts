import { notFound } from '../errors.js';
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

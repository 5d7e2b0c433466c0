import { type ExpressionBuilder, type Kysely, type Selectable, sql } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { isUniqueViolation } from '../store/db.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { diff } from './changes.js';
import { exposedReleaseIds } from './exposed-releases.js';

export const deviceStatuses = ['active', 'disabled', 'decommissioned'] as const;
export type DeviceStatus = (typeof deviceStatuses)[number];
export const claimStates = ['unclaimed', 'claimed'] as const;
export type ClaimState = (typeof claimStates)[number];

export interface Device {
  id: string;
  orgId: string;
  productId: string;
  brandId: string | null;
  serial: string;
  hardwareId: string | null;
  firmwareVersion: string | null;
  tags: string[];
  status: DeviceStatus;
  claimState: ClaimState;
  createdAt: string;
  updatedAt: string;
  lastSeenAt: string | null;
  deletedAt: string | null;
  /** Whether the device holds a connection to the gateway now, and on which node. */
  online: boolean;
  connectedNode: string | null;
}

export interface CreateDevice {
  productId: string;
  brandId?: string | null;
  serial: string;
  hardwareId?: string | null;
  firmwareVersion?: string | null;
  tags?: string[];
}

export interface UpdateDevice {
  brandId?: string | null;
  hardwareId?: string | null;
  firmwareVersion?: string | null;
  tags?: string[];
  status?: 'active' | 'disabled';
}

export interface DeviceFilter {
  productId?: string;
  brandId?: string;
  status?: DeviceStatus;
  online?: boolean;
  firmwareVersion?: string;
  /** Exact serial number. */
  serial?: string;
  /** Serial number prefix, for search boxes. */
  serialPrefix?: string;
  /** Devices carrying every one of these tags. */
  tags?: string[];
  /** true: devices running a release with at least one open exposure; false: the others. */
  exposed?: boolean;
  /** true: devices an owner claimed (owners/claims.ts); false: the others. */
  claimed?: boolean;
  includeDeleted?: boolean;
}

/**
 * Devices: one physical unit, its product and brand, firmware and tags. Deletion is soft.
 * A device that stopped being active (disabled or deleted) is published as `device.revoked` once
 * that has committed: the node holding its live connection ends it at once, as for a revoked
 * credential.
 */
export class DeviceService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; bus: Bus }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async create(actor: string, orgId: string, input: CreateDevice): Promise<Device> {
    const now = this.#clock.now();
    try {
      return await inTransaction(this.#db, async (trx) => {
        const brandId = await resolveBrand(trx, orgId, input.productId, input.brandId);
        const device: Device = {
          id: newId('dev', now),
          orgId,
          productId: input.productId,
          brandId,
          serial: input.serial,
          hardwareId: input.hardwareId ?? null,
          firmwareVersion: input.firmwareVersion ?? null,
          tags: normaliseTags(input.tags),
          status: 'active',
          claimState: 'unclaimed',
          createdAt: now.toISOString(),
          updatedAt: now.toISOString(),
          lastSeenAt: null,
          deletedAt: null,
          online: false,
          connectedNode: null,
        };
        await trx.insertInto('devices').values(toRow(device)).execute();
        await writeTags(trx, device.id, device.tags);
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'device.create',
          targetType: 'device',
          targetId: device.id,
          details: {
            productId: device.productId,
            brandId: device.brandId,
            serial: device.serial,
            hardwareId: device.hardwareId,
            firmwareVersion: device.firmwareVersion,
            tags: device.tags,
          },
        });
        return device;
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(`a device with serial ${JSON.stringify(input.serial)} exists for this product`);
      throw error;
    }
  }

  async get(
    orgId: string,
    id: string,
    options: { includeDeleted?: boolean } = {},
    db: Executor = this.#db,
  ): Promise<Device> {
    let q = db.selectFrom('devices').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (!options.includeDeleted) q = q.where('deleted_at', 'is', null);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('device', id);
    const tags = await db
      .selectFrom('device_tags')
      .select('tag')
      .where('device_id', '=', id)
      .orderBy('tag')
      .execute();
    return toDevice(
      row,
      tags.map((t) => t.tag),
    );
  }

  async list(orgId: string, page: PageRequest, filter: DeviceFilter = {}): Promise<Page<Device>> {
    const after = decodeCursor(page.cursor);
    let q = this.#db.selectFrom('devices').selectAll().where('org_id', '=', orgId);
    if (after) q = q.where('id', '>', after);
    if (!filter.includeDeleted) q = q.where('deleted_at', 'is', null);
    if (filter.productId) q = q.where('product_id', '=', filter.productId);
    if (filter.brandId) q = q.where('brand_id', '=', filter.brandId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.online !== undefined) q = q.where('online', '=', filter.online ? 1 : 0);
    if (filter.firmwareVersion) q = q.where('firmware_version', '=', filter.firmwareVersion);
    if (filter.serial) q = q.where('serial', '=', filter.serial);
    if (filter.serialPrefix) {
      // Range instead of LIKE: no wildcard escaping, and both dialects use the index the same way.
      q = q
        .where('serial', '>=', filter.serialPrefix)
        .where('serial', '<', `${filter.serialPrefix}\u{10FFFF}`);
    }
    for (const tag of new Set(filter.tags ?? [])) {
      q = q.where('id', 'in', (eb) =>
        eb.selectFrom('device_tags').select('device_id').where('tag', '=', tag),
      );
    }
    if (filter.claimed !== undefined) {
      q = q.where('id', filter.claimed ? 'in' : 'not in', (eb) =>
        eb.selectFrom('device_owners').select('device_id').where('role', '=', 'owner'),
      );
    }
    if (filter.exposed !== undefined) {
      const releases = await exposedReleaseIds(this.#db, orgId);
      if (releases.length === 0 && filter.exposed) return { items: [], nextCursor: null };
      if (releases.length > 0) q = q.where((eb) => runsOneOf(eb, releases, filter.exposed as boolean));
    }
    const rows = await q
      .orderBy('id')
      .limit(page.limit + 1)
      .execute();
    const ids = rows.map((r) => r.id);
    const tagRows = ids.length
      ? await this.#db
          .selectFrom('device_tags')
          .selectAll()
          .where('device_id', 'in', ids)
          .orderBy('tag')
          .execute()
      : [];
    const tagsOf = new Map<string, string[]>();
    for (const t of tagRows) tagsOf.set(t.device_id, [...(tagsOf.get(t.device_id) ?? []), t.tag]);
    return toPage(rows, page.limit, (row) => toDevice(row, tagsOf.get(row.id) ?? []));
  }

  async update(actor: string, orgId: string, id: string, patch: UpdateDevice): Promise<Device> {
    const updated = await inTransaction(this.#db, async (trx) => {
      const before = await this.get(orgId, id, {}, trx);
      const brandId =
        patch.brandId === undefined
          ? before.brandId
          : await resolveBrand(trx, orgId, before.productId, patch.brandId);
      const after: Device = {
        ...before,
        brandId,
        hardwareId: patch.hardwareId === undefined ? before.hardwareId : patch.hardwareId,
        firmwareVersion: patch.firmwareVersion === undefined ? before.firmwareVersion : patch.firmwareVersion,
        tags: patch.tags === undefined ? before.tags : normaliseTags(patch.tags),
        status: patch.status ?? before.status,
        updatedAt: this.#clock.now().toISOString(),
      };
      await trx.updateTable('devices').set(toRow(after)).where('id', '=', id).execute();
      if (patch.tags !== undefined) {
        await trx.deleteFrom('device_tags').where('device_id', '=', id).execute();
        await writeTags(trx, id, after.tags);
      }
      const entry = await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.update',
        targetType: 'device',
        targetId: id,
        details: diff({ ...before }, { ...after }),
      });
      return { before, after, change: entry.id };
    });
    if (updated.before.status === 'active' && updated.after.status !== 'active')
      this.#bus.publish('device.revoked', { deviceId: id, change: updated.change });
    return updated.after;
  }

  /**
   * Soft delete: the device is decommissioned and hidden from lists, but its record stays for
   * vulnerability exposure history and the audit trail; its serial can be registered again.
   */
  async delete(actor: string, orgId: string, id: string): Promise<Device> {
    const deleted = await inTransaction(this.#db, async (trx) => {
      const before = await this.get(orgId, id, {}, trx);
      const now = this.#clock.now().toISOString();
      const after: Device = { ...before, status: 'decommissioned', deletedAt: now, updatedAt: now };
      await trx.updateTable('devices').set(toRow(after)).where('id', '=', id).execute();
      const entry = await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.delete',
        targetType: 'device',
        targetId: id,
        details: { serial: before.serial, productId: before.productId },
      });
      return { after, change: entry.id };
    });
    this.#bus.publish('device.revoked', { deviceId: id, change: deleted.change });
    return deleted.after;
  }
}

/**
 * A device's brand must be one its product is sold under. When the product has exactly one brand
 * and none is given, that brand is the only possible answer and is taken.
 */
async function resolveBrand(
  trx: Executor,
  orgId: string,
  productId: string,
  brandId: string | null | undefined,
): Promise<string | null> {
  const product = await trx
    .selectFrom('products')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', productId)
    .executeTakeFirst();
  if (!product) {
    throw new DomainError('validation-failed', `/productId: no product ${productId} in this organisation`, [
      { field: '/productId', message: `no product ${productId} in this organisation` },
    ]);
  }
  const links = await trx
    .selectFrom('product_brands')
    .select('brand_id')
    .where('product_id', '=', productId)
    .execute();
  const brands = links.map((l) => l.brand_id);
  if (brandId === undefined) return brands.length === 1 ? (brands[0] ?? null) : null;
  if (brandId === null) return null;
  if (!brands.includes(brandId)) {
    throw new DomainError(
      'validation-failed',
      `/brandId: product ${productId} is not sold under brand ${brandId}`,
      [{ field: '/brandId', message: `product ${productId} is not sold under brand ${brandId}` }],
    );
  }
  return brandId;
}

function normaliseTags(tags: string[] | undefined): string[] {
  return [...new Set(tags ?? [])].sort();
}

async function writeTags(trx: Executor, deviceId: string, tags: string[]): Promise<void> {
  if (tags.length === 0) return;
  await trx
    .insertInto('device_tags')
    .values(tags.map((tag) => ({ device_id: deviceId, tag })))
    .execute();
}

/**
 * The columns the fleet registry owns. Presence (online, node, last seen) belongs to the gateway
 * and is never written here, so an update cannot overwrite a concurrent connect or disconnect.
 */
function toRow(
  d: Device,
): Omit<
  Database['devices'],
  | 'online'
  | 'connected_node'
  | 'last_seen_at'
  | 'security_version'
  | 'endpoint_version'
  | 'endpoint_status'
  | 'endpoint_at'
> {
  return {
    id: d.id,
    org_id: d.orgId,
    product_id: d.productId,
    brand_id: d.brandId,
    serial: d.serial,
    hardware_id: d.hardwareId,
    firmware_version: d.firmwareVersion,
    status: d.status,
    claim_state: d.claimState,
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    deleted_at: d.deletedAt,
  };
}

function toDevice(row: Selectable<Database['devices']>, tags: string[]): Device {
  return {
    id: row.id,
    orgId: row.org_id,
    productId: row.product_id,
    brandId: row.brand_id,
    serial: row.serial,
    hardwareId: row.hardware_id,
    firmwareVersion: row.firmware_version,
    tags,
    status: row.status as DeviceStatus,
    claimState: row.claim_state as ClaimState,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastSeenAt: row.last_seen_at,
    deletedAt: row.deleted_at,
    online: Number(row.online) === 1,
    connectedNode: row.connected_node,
  };
}

/**
 * The device runs one of these releases (same product, firmware_version = release version), or
 * with `yes` false does not: an EXISTS on the releases' unique (product_id, version) index per
 * candidate row, so a filtered page costs what it reads, whatever the fleet's size.
 */
export function runsOneOf(eb: ExpressionBuilder<Database, 'devices'>, releaseIds: string[], yes = true) {
  const exists = eb.exists(
    eb
      .selectFrom('releases as r')
      .select(sql<number>`1`.as('one'))
      .whereRef('r.product_id', '=', 'devices.product_id')
      .whereRef('r.version', '=', 'devices.firmware_version')
      .where('r.id', 'in', releaseIds),
  );
  return yes ? exists : eb.not(exists);
}

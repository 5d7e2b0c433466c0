import { type CapabilityModel, emptyCapabilityModel } from '@brickless/protocol';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Outbox } from '../notifications/outbox.js';
import type { OwnerEventData } from '../owner-notices/catalogue.js';
import { isUniqueViolation } from '../store/db.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { validateCapabilities } from './capabilities.js';
import { diff } from './changes.js';
import { supportPeriodWarnings, type Warning } from './support-period.js';

export interface Product {
  id: string;
  orgId: string;
  modelNumber: string;
  name: string;
  hardwareRevision: string;
  /** Date (YYYY-MM-DD) the product was placed on the market, when it has been. */
  placedOnMarket: string | null;
  /** Last day (YYYY-MM-DD) of the declared support period (CRA Art. 13(8)). */
  supportEnds: string;
  brandIds: string[];
  capabilities: CapabilityModel;
  /** What the gateway allows this product's devices after CONNECT (docs/protocol.md, "Limits"). */
  limits: ProductLimits;
  /** How long this product's devices' data is kept (issue 18 §6; docs/data-rights.md). */
  retention: ProductRetention;
  createdAt: string;
  updatedAt: string;
}

export interface ProductLimits {
  /** Largest message payload a device of this product may publish, in bytes; absent: the global limit. */
  maxMessageBytes?: number;
}

/** Days a product's devices' data is kept; null keeps it (telemetry: up to `telemetry.retentionDays`). */
export interface ProductRetention {
  /** Telemetry readings and device events, by the time they were taken. */
  telemetryDays: number | null;
  /** Commands, by when they were sent. */
  commandDays: number | null;
}

/** At most 100 years, like the server-wide `telemetry.retentionDays`. */
export const MAX_RETENTION_DAYS = 36_500;

/** The largest per-product message size: the gateway's default payload limit (256 KiB). */
export const MAX_PRODUCT_MESSAGE_BYTES = 256 * 1024;
/** The smallest: room for a small JSON reading. */
export const MIN_PRODUCT_MESSAGE_BYTES = 64;

export type CreateProduct = Pick<Product, 'modelNumber' | 'name' | 'hardwareRevision' | 'supportEnds'> & {
  capabilities?: Partial<CapabilityModel>;
  limits?: ProductLimits;
  retention?: Partial<ProductRetention>;
  placedOnMarket?: string | null;
  brandIds?: string[];
};
export type UpdateProduct = Partial<CreateProduct>;

export interface ProductWithWarnings {
  product: Product;
  warnings: Warning[];
}

/** Products: a model, its support period and its capability model, sold under one or more brands. */
export class ProductService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #outbox: Outbox | null;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    /** A changed support end date is told to the owners of the product's devices (issue 18 §3). */
    outbox?: Outbox;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#outbox = deps.outbox ?? null;
  }

  async create(actor: string, orgId: string, input: CreateProduct): Promise<ProductWithWarnings> {
    const capabilities = withAllSections(input.capabilities);
    validateCapabilities(capabilities);
    checkDates(input.placedOnMarket ?? null, input.supportEnds);
    checkLimits(input.limits);
    const now = this.#clock.now();
    const product: Product = {
      id: newId('prd', now),
      orgId,
      modelNumber: input.modelNumber,
      name: input.name,
      hardwareRevision: input.hardwareRevision,
      placedOnMarket: input.placedOnMarket ?? null,
      supportEnds: input.supportEnds,
      brandIds: [...new Set(input.brandIds ?? [])],
      capabilities,
      limits: { ...input.limits },
      retention: { telemetryDays: null, commandDays: null, ...input.retention },
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    try {
      await inTransaction(this.#db, async (trx) => {
        await assertBrandsInOrg(trx, orgId, product.brandIds);
        await trx.insertInto('products').values(toRow(product)).execute();
        await writeBrandLinks(trx, product.id, product.brandIds);
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'product.create',
          targetType: 'product',
          targetId: product.id,
          details: { ...product, orgId: undefined, createdAt: undefined, updatedAt: undefined },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw conflict(`product ${input.modelNumber} revision ${input.hardwareRevision} exists`);
      }
      throw error;
    }
    return { product, warnings: supportPeriodWarnings(product, now) };
  }

  async get(orgId: string, id: string, db: Executor = this.#db): Promise<Product> {
    const row = await db
      .selectFrom('products')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('product', id);
    const links = await db
      .selectFrom('product_brands')
      .select('brand_id')
      .where('product_id', '=', id)
      .execute();
    return toProduct(
      row,
      links.map((l) => l.brand_id),
    );
  }

  /** Support-period warnings for a product as of now. */
  warnings(product: Pick<Product, 'placedOnMarket' | 'supportEnds'>): Warning[] {
    return supportPeriodWarnings(product, this.#clock.now());
  }

  async getWithWarnings(orgId: string, id: string): Promise<ProductWithWarnings> {
    const product = await this.get(orgId, id);
    return { product, warnings: supportPeriodWarnings(product, this.#clock.now()) };
  }

  async list(
    orgId: string,
    page: PageRequest,
    filter: { modelNumber?: string; brandId?: string } = {},
  ): Promise<Page<Product>> {
    const after = decodeCursor(page.cursor);
    let q = this.#db.selectFrom('products').selectAll().where('org_id', '=', orgId);
    if (after) q = q.where('id', '>', after);
    if (filter.modelNumber) q = q.where('model_number', '=', filter.modelNumber);
    if (filter.brandId) {
      const brandId = filter.brandId;
      q = q.where('id', 'in', (eb) =>
        eb.selectFrom('product_brands').select('product_id').where('brand_id', '=', brandId),
      );
    }
    const rows = await q
      .orderBy('id')
      .limit(page.limit + 1)
      .execute();
    const ids = rows.map((r) => r.id);
    const links = ids.length
      ? await this.#db.selectFrom('product_brands').selectAll().where('product_id', 'in', ids).execute()
      : [];
    const brandsOf = new Map<string, string[]>();
    for (const link of links)
      brandsOf.set(link.product_id, [...(brandsOf.get(link.product_id) ?? []), link.brand_id]);
    return toPage(rows, page.limit, (row) => toProduct(row, brandsOf.get(row.id) ?? []));
  }

  async update(actor: string, orgId: string, id: string, patch: UpdateProduct): Promise<ProductWithWarnings> {
    const capabilities = patch.capabilities ? withAllSections(patch.capabilities) : undefined;
    if (capabilities) validateCapabilities(capabilities);
    checkLimits(patch.limits);
    const now = this.#clock.now();
    try {
      const product = await inTransaction(this.#db, async (trx) => {
        const before = await this.get(orgId, id, trx);
        const after: Product = {
          ...before,
          ...patch,
          capabilities: capabilities ?? before.capabilities,
          limits: patch.limits ? { ...patch.limits } : before.limits,
          // Only the periods named change; null clears one.
          retention: { ...before.retention, ...patch.retention },
          placedOnMarket: patch.placedOnMarket === undefined ? before.placedOnMarket : patch.placedOnMarket,
          brandIds: patch.brandIds ? [...new Set(patch.brandIds)] : before.brandIds,
          updatedAt: now.toISOString(),
        };
        checkDates(after.placedOnMarket, after.supportEnds);
        if (patch.brandIds) {
          await assertBrandsInOrg(trx, orgId, after.brandIds);
          const removed = before.brandIds.filter((b) => !after.brandIds.includes(b));
          if (removed.length > 0) {
            const device = await trx
              .selectFrom('devices')
              .select(['id', 'brand_id'])
              .where('product_id', '=', id)
              .where('brand_id', 'in', removed)
              .where('deleted_at', 'is', null)
              .executeTakeFirst();
            if (device)
              throw conflict(`brand ${device.brand_id} is still used by device ${device.id} of this product`);
          }
          await trx.deleteFrom('product_brands').where('product_id', '=', id).execute();
          await writeBrandLinks(trx, id, after.brandIds);
        }
        await trx.updateTable('products').set(toRow(after)).where('id', '=', id).execute();
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'product.update',
          targetType: 'product',
          targetId: id,
          details: diff({ ...before }, { ...after }),
        });
        // CRA Annex II (8), ETSI EN 303 645 5.3-13: owners learn of a new support end date.
        if (this.#outbox && after.supportEnds !== before.supportEnds)
          await this.#outbox.record(
            orgId,
            'owner.support-period',
            {
              productId: id,
              supportEnds: after.supportEnds,
              previous: before.supportEnds,
              deviceIds: null,
            } satisfies OwnerEventData['owner.support-period'],
            trx,
          );
        return after;
      });
      return { product, warnings: supportPeriodWarnings(product, now) };
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict('another product has this model number and hardware revision');
      throw error;
    }
  }

  /** Deletes a product that no device record refers to (decommissioned devices keep their history). */
  async delete(actor: string, orgId: string, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const product = await this.get(orgId, id, trx);
      const device = await trx
        .selectFrom('devices')
        .select('id')
        .where('product_id', '=', id)
        .executeTakeFirst();
      if (device)
        throw conflict(`product ${product.modelNumber} still has devices (for example ${device.id})`);
      await trx.deleteFrom('product_brands').where('product_id', '=', id).execute();
      await trx.deleteFrom('products').where('id', '=', id).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'product.delete',
        targetType: 'product',
        targetId: id,
        details: { modelNumber: product.modelNumber, hardwareRevision: product.hardwareRevision },
      });
    });
  }
}

/** A model may leave out sections it does not use; stored models always have all three. */
function withAllSections(model: Partial<CapabilityModel> | undefined): CapabilityModel {
  return { ...emptyCapabilityModel(), ...model };
}

function checkLimits(limits: ProductLimits | undefined): void {
  const bytes = limits?.maxMessageBytes;
  if (bytes === undefined) return;
  if (!Number.isInteger(bytes) || bytes < MIN_PRODUCT_MESSAGE_BYTES || bytes > MAX_PRODUCT_MESSAGE_BYTES) {
    const message = `must be an integer from ${MIN_PRODUCT_MESSAGE_BYTES} to ${MAX_PRODUCT_MESSAGE_BYTES}`;
    throw new DomainError('validation-failed', `/limits/maxMessageBytes: ${message}`, [
      { field: '/limits/maxMessageBytes', message },
    ]);
  }
}

function checkDates(placedOnMarket: string | null, supportEnds: string): void {
  if (placedOnMarket && placedOnMarket > supportEnds) {
    throw new DomainError('validation-failed', '/supportEnds: must not be before placedOnMarket', [
      { field: '/supportEnds', message: 'must not be before placedOnMarket' },
    ]);
  }
}

async function assertBrandsInOrg(trx: Executor, orgId: string, brandIds: string[]): Promise<void> {
  if (brandIds.length === 0) return;
  const found = await trx
    .selectFrom('brands')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', 'in', brandIds)
    .execute();
  const known = new Set(found.map((b) => b.id));
  const fields = brandIds
    .map((id, index) => ({ id, index }))
    .filter(({ id }) => !known.has(id))
    .map(({ id, index }) => ({
      field: `/brandIds/${index}`,
      message: `no brand ${id} in this organisation`,
    }));
  if (fields.length > 0) {
    throw new DomainError(
      'validation-failed',
      fields.map((f) => `${f.field}: ${f.message}`).join('; '),
      fields,
    );
  }
}

async function writeBrandLinks(trx: Executor, productId: string, brandIds: string[]): Promise<void> {
  if (brandIds.length === 0) return;
  await trx
    .insertInto('product_brands')
    .values(brandIds.map((brandId) => ({ product_id: productId, brand_id: brandId })))
    .execute();
}

function toRow(p: Product): Database['products'] {
  return {
    id: p.id,
    org_id: p.orgId,
    model_number: p.modelNumber,
    name: p.name,
    hardware_revision: p.hardwareRevision,
    placed_on_market: p.placedOnMarket,
    support_ends: p.supportEnds,
    capabilities: JSON.stringify(p.capabilities),
    max_message_bytes: p.limits.maxMessageBytes ?? null,
    telemetry_retention_days: p.retention.telemetryDays,
    command_retention_days: p.retention.commandDays,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

function toProduct(row: Database['products'], brandIds: string[]): Product {
  return {
    id: row.id,
    orgId: row.org_id,
    modelNumber: row.model_number,
    name: row.name,
    hardwareRevision: row.hardware_revision,
    placedOnMarket: row.placed_on_market,
    supportEnds: row.support_ends,
    brandIds: [...brandIds].sort(),
    capabilities: JSON.parse(row.capabilities) as CapabilityModel,
    limits: row.max_message_bytes === null ? {} : { maxMessageBytes: row.max_message_bytes },
    retention: {
      telemetryDays: row.telemetry_retention_days === null ? null : Number(row.telemetry_retention_days),
      commandDays: row.command_retention_days === null ? null : Number(row.command_retention_days),
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

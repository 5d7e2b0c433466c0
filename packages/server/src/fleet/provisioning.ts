import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError } from '../errors.js';
import { newId } from '../ids.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

export interface ProvisionRequest {
  productId: string;
  brandId?: string | null;
  firmwareVersion?: string | null;
  tags?: string[];
  serials: string[];
}

export interface ProvisionedDevice {
  deviceId: string;
  serial: string;
  /** The device's own secret: written to the device on the factory line, shown only here. */
  secret: string;
}

export const MAX_PROVISION_BATCH = 1000;

/**
 * Factory provisioning: registers a batch of devices and gives each its own secret, all in one
 * transaction, so a failed batch leaves nothing behind (a duplicate serial refuses the whole batch).
 */
export class ProvisioningService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async provision(actor: string, orgId: string, request: ProvisionRequest): Promise<ProvisionedDevice[]> {
    const serials = request.serials;
    if (new Set(serials).size !== serials.length) {
      throw new DomainError('validation-failed', '/serials: contains duplicates', [
        { field: '/serials', message: 'contains duplicates' },
      ]);
    }
    const now = this.#clock.now();
    const at = now.toISOString();
    const tags = [...new Set(request.tags ?? [])].sort();
    try {
      return await inTransaction(this.#db, async (trx) => {
        const product = await trx
          .selectFrom('products')
          .select('id')
          .where('org_id', '=', orgId)
          .where('id', '=', request.productId)
          .executeTakeFirst();
        if (!product) {
          throw new DomainError(
            'validation-failed',
            `/productId: no product ${request.productId} in this organisation`,
            [{ field: '/productId', message: 'no such product in this organisation' }],
          );
        }
        const brands = (
          await trx
            .selectFrom('product_brands')
            .select('brand_id')
            .where('product_id', '=', product.id)
            .execute()
        ).map((b) => b.brand_id);
        const brandId =
          request.brandId === undefined
            ? brands.length === 1
              ? (brands[0] ?? null)
              : null
            : request.brandId;
        if (brandId !== null && !brands.includes(brandId)) {
          throw new DomainError(
            'validation-failed',
            `/brandId: the product is not sold under brand ${brandId}`,
            [{ field: '/brandId', message: 'the product is not sold under this brand' }],
          );
        }
        const out: ProvisionedDevice[] = serials.map((serial) => ({
          deviceId: newId('dev', now),
          serial,
          secret: `bds_${randomBytes(32).toString('base64url')}`,
        }));
        for (let i = 0; i < out.length; i += 200) {
          const chunk = out.slice(i, i + 200);
          await trx
            .insertInto('devices')
            .values(
              chunk.map((d) => ({
                id: d.deviceId,
                org_id: orgId,
                product_id: product.id,
                brand_id: brandId,
                serial: d.serial,
                hardware_id: null,
                firmware_version: request.firmwareVersion ?? null,
                status: 'active',
                claim_state: 'unclaimed',
                created_at: at,
                updated_at: at,
                last_seen_at: null,
                deleted_at: null,
              })),
            )
            .execute();
          await trx
            .insertInto('device_credentials')
            .values(
              chunk.map((d) => ({
                id: newId('crd', now),
                org_id: orgId,
                device_id: d.deviceId,
                kind: 'secret',
                secret_hash: createHash('sha256').update(d.secret).digest('hex'),
                created_at: at,
                revoked_at: null,
              })),
            )
            .execute();
          if (tags.length > 0) {
            await trx
              .insertInto('device_tags')
              .values(chunk.flatMap((d) => tags.map((tag) => ({ device_id: d.deviceId, tag }))))
              .execute();
          }
        }
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'device.provision',
          targetType: 'product',
          targetId: product.id,
          details: {
            count: out.length,
            brandId,
            tags,
            devices: out.map((d) => ({ id: d.deviceId, serial: d.serial })),
          },
        });
        return out;
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(
          'a serial in the batch is already registered for this product; nothing was provisioned',
        );
      throw error;
    }
  }
}

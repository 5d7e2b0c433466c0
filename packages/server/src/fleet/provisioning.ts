import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, invalid } from '../errors.js';
import type { DeviceCredentialService } from '../gateway/credentials.js';
import { newId } from '../ids.js';
import { ClaimService } from '../owners/claims.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

export interface ProvisionRequest {
  productId: string;
  brandId?: string | null;
  firmwareVersion?: string | null;
  tags?: string[];
  serials: string[];
  /**
   * What each device gets: an operational secret (default), a one-time factory secret to claim
   * its operational credential with, or a client certificate and key from the organisation CA.
   */
  credential?: 'secret' | 'factory' | 'certificate';
}

export interface ProvisionedDevice {
  deviceId: string;
  serial: string;
  /** The device's own secret: written to the device on the factory line, shown only here. */
  secret?: string;
  /** One-time secret for `POST /device/v1/claim` (credential `factory`). */
  factorySecret?: string;
  /** Client certificate and PKCS#8 key (credential `certificate`). */
  certificate?: string;
  privateKey?: string;
  /** The code an owner claims the device with (label or QR code; issue 18 §1): shown only here. */
  claimCode: string;
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

  readonly #credentials: DeviceCredentialService;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    credentials: DeviceCredentialService;
  }) {
    this.#credentials = deps.credentials;
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
    const kind = request.credential ?? 'secret';
    const known = await this.#db
      .selectFrom('products')
      .select('id')
      .where('org_id', '=', orgId)
      .where('id', '=', request.productId)
      .executeTakeFirst();
    if (!known) throw invalid('/productId', 'no such product in this organisation');
    // Credentials are made before the transaction: signing a thousand certificates takes a while.
    const out: ProvisionedDevice[] = [];
    const credentialRows: Database['device_credentials'][] = [];
    const deviceIds = serials.map(() => newId('dev', now));
    const claims = ClaimService.codesFor(actor, orgId, deviceIds, at);
    for (const [i, serial] of serials.entries()) {
      const deviceId = deviceIds[i] ?? '';
      const { row, issued } = await this.#credentials.prepare(actor, orgId, deviceId, { kind });
      credentialRows.push(row);
      out.push({
        deviceId,
        serial,
        claimCode: claims.codes[i] ?? '',
        ...(kind === 'secret' ? { secret: issued.secret } : {}),
        ...(kind === 'factory' ? { factorySecret: issued.secret } : {}),
        ...(kind === 'certificate' ? { certificate: issued.certificate, privateKey: issued.privateKey } : {}),
      });
    }
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
            .values(credentialRows.slice(i, i + 200))
            .execute();
          await trx
            .insertInto('device_claim_codes')
            .values(claims.rows.slice(i, i + 200))
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
            credential: kind,
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

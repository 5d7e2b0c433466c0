import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, notFound } from '../errors.js';
import type { Outbox } from '../notifications/outbox.js';
import type { OwnerEventData } from '../owner-notices/catalogue.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import type { Attempts, Limit } from './attempts.js';
import { hashClaimCode, newClaimCode, normaliseClaimCode } from './claim-codes.js';
import { withdrawPendingLocalMode } from './local-mode.js';
import { endShares, requireDeviceOwner } from './sharing.js';

/** A person's relation to a device: its `owner`, or a household member as `user` or `guest`. */
export const deviceRoles = ['owner', 'user', 'guest'] as const;
export type DeviceRole = (typeof deviceRoles)[number];

/** Wrong claim codes, per owner and per address: 10 an hour each. */
export const CLAIM_LIMITS = {
  perOwner: { kind: 'claim-owner', max: 10, windowMs: 3_600_000 },
  perAddress: { kind: 'claim-ip', max: 10, windowMs: 3_600_000 },
} satisfies Record<string, Limit>;

/** What an owner sees of a device: never the maker's internals (tags, credentials, organisation). */
export interface OwnedDevice {
  id: string;
  role: DeviceRole;
  productName: string;
  modelNumber: string;
  serial: string;
  online: boolean;
  firmwareVersion: string | null;
  supportEnds: string;
  claimedAt: string;
}

/** What the maker sees of a device's ownership: whether and since when, never who. */
export interface Ownership {
  claimed: boolean;
  claimedAt: string | null;
  /** Present when an owner switched the device to local mode (issue 18 §7): asked when, acted on or not. */
  localMode?: { requestedAt: string; status: 'requested' | 'local' };
}

/** The one answer to every code that claims nothing, so a guesser learns nothing from it. */
const wrongCode = () =>
  new DomainError(
    'validation-failed',
    '/code: no device can be claimed with this code; check it on the label',
    [{ field: '/code', message: 'no device can be claimed with this code' }],
  );

/**
 * Claim codes and the devices owners hold (issue 18 §1): a maker issues a code per device (at
 * provisioning, or anew), an owner claims the device with it once, and may release it again.
 */
export class ClaimService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #attempts: Attempts;
  readonly #outbox: Outbox | null;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    attempts: Attempts;
    /** Records the owner's support-period notice with the claim (issue 18 §3). */
    outbox?: Outbox;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#attempts = deps.attempts;
    this.#outbox = deps.outbox ?? null;
  }

  /** New codes for devices being registered, with the rows to insert in the caller's transaction. */
  static codesFor(
    actor: string,
    orgId: string,
    deviceIds: string[],
    at: string,
  ): { codes: string[]; rows: Database['device_claim_codes'][] } {
    const codes = deviceIds.map(() => newClaimCode());
    const rows = deviceIds.map((deviceId, i) => ({
      device_id: deviceId,
      org_id: orgId,
      code_hash: hashClaimCode(normaliseClaimCode(codes[i] ?? '') ?? ''),
      created_at: at,
      created_by: actor,
      used_at: null,
    }));
    return { codes, rows };
  }

  /** A new code for the device, ending the old one (used or not); shown once. */
  async issueCode(
    actor: string,
    orgId: string,
    deviceId: string,
  ): Promise<{ deviceId: string; claimCode: string }> {
    const at = this.#clock.now().toISOString();
    return inTransaction(this.#db, async (trx) => {
      const device = await trx
        .selectFrom('devices')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', '=', deviceId)
        .where('deleted_at', 'is', null)
        .executeTakeFirst();
      if (!device) throw notFound('device', deviceId);
      const {
        codes: [claimCode],
        rows: [row],
      } = ClaimService.codesFor(actor, orgId, [deviceId], at);
      if (!claimCode || !row) throw new Error('no claim code made');
      await trx.deleteFrom('device_claim_codes').where('device_id', '=', deviceId).execute();
      await trx.insertInto('device_claim_codes').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.claim-code',
        targetType: 'device',
        targetId: deviceId,
        details: { claimed: await this.#claimed(trx, deviceId) },
      });
      return { deviceId, claimCode };
    });
  }

  /**
   * Claims the device whose code this is for the owner. Every code that claims nothing (unknown,
   * used, replaced, malformed) gets one answer and counts against the owner and the address.
   */
  async claim(ownerId: string, ip: string, typed: string): Promise<OwnedDevice> {
    await this.#attempts.check(CLAIM_LIMITS.perOwner, ownerId, 'wrong claim codes for this account');
    await this.#attempts.check(CLAIM_LIMITS.perAddress, ip, 'wrong claim codes from this address');
    const normalised = normaliseClaimCode(typed);
    const at = this.#clock.now().toISOString();
    const deviceId = normalised
      ? await inTransaction(this.#db, async (trx) => {
          const code = await trx
            .selectFrom('device_claim_codes')
            .innerJoin('devices', 'devices.id', 'device_claim_codes.device_id')
            .select(['device_claim_codes.device_id', 'device_claim_codes.org_id'])
            .where('device_claim_codes.code_hash', '=', hashClaimCode(normalised))
            .where('device_claim_codes.used_at', 'is', null)
            .where('devices.deleted_at', 'is', null)
            .executeTakeFirst();
          if (!code) return null;
          // A device has one owner: a second code (a reissue while owned) claims nothing until the
          // owner releases it. The code stays unused, so it works after the release.
          if (await this.#claimed(trx, code.device_id))
            throw conflict(
              'this device has an owner already: they must release it before it can be claimed again',
            );
          // Checking and using the code is one statement: two racing claims cannot both win.
          const used = await trx
            .updateTable('device_claim_codes')
            .set({ used_at: at })
            .where('device_id', '=', code.device_id)
            .where('used_at', 'is', null)
            .executeTakeFirst();
          if (Number(used.numUpdatedRows) !== 1) return null;
          await trx
            .insertInto('device_owners')
            .values({ device_id: code.device_id, owner_id: ownerId, role: 'owner', created_at: at })
            .execute();
          await this.#audit.append(trx, code.org_id, {
            actor: `owner:${ownerId}`,
            action: 'device.claim',
            targetType: 'device',
            targetId: code.device_id,
            details: { owner: ownerId, role: 'owner' },
          });
          // CRA Annex II (8), ETSI EN 303 645 5.3-13: the new owner is told the support period.
          if (this.#outbox) {
            const product = await trx
              .selectFrom('devices')
              .innerJoin('products', 'products.id', 'devices.product_id')
              .select(['products.id', 'products.support_ends'])
              .where('devices.id', '=', code.device_id)
              .executeTakeFirstOrThrow();
            await this.#outbox.record(
              code.org_id,
              'owner.support-period',
              {
                productId: product.id,
                supportEnds: product.support_ends,
                previous: null,
                deviceIds: [code.device_id],
              } satisfies OwnerEventData['owner.support-period'],
              trx,
            );
          }
          return code.device_id;
        })
      : null;
    if (!deviceId) {
      await inTransaction(this.#db, async (trx) => {
        await this.#attempts.record(CLAIM_LIMITS.perOwner, ownerId, trx);
        await this.#attempts.record(CLAIM_LIMITS.perAddress, ip, trx);
      });
      throw wrongCode();
    }
    return this.get(ownerId, deviceId);
  }

  /** The owner's devices and those shared with them (with their role), oldest first. */
  async list(ownerId: string): Promise<OwnedDevice[]> {
    return (
      await this.#query(ownerId).orderBy('device_owners.created_at').orderBy('devices.id').execute()
    ).map(toOwned);
  }

  /** One of the owner's devices; another owner's, or none, is the same 404. */
  async get(ownerId: string, deviceId: string): Promise<OwnedDevice> {
    const row = await this.#query(ownerId).where('devices.id', '=', deviceId).executeTakeFirst();
    if (!row) throw notFound('device', deviceId);
    return toOwned(row);
  }

  /**
   * The owner gives the device up: ownership ends, and so do the household's shares and open
   * invitations (nobody keeps a device that has no owner). The code stays used; the maker may
   * issue a new one. A household member cannot release it (403); they leave their share instead.
   */
  async release(ownerId: string, deviceId: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const access = await requireDeviceOwner(trx, ownerId, deviceId, 'release it');
      const shares = await endShares(trx, deviceId);
      await withdrawPendingLocalMode(trx, deviceId);
      await trx
        .deleteFrom('device_owners')
        .where('owner_id', '=', ownerId)
        .where('device_id', '=', deviceId)
        .execute();
      await this.#audit.append(trx, access.orgId, {
        actor: `owner:${ownerId}`,
        action: 'device.release',
        targetType: 'device',
        targetId: deviceId,
        details: { owner: ownerId, role: 'owner', sharesEnded: shares },
      });
    });
  }

  /** For the maker's view of a device. */
  async ownership(deviceId: string): Promise<Ownership> {
    const row = await this.#db
      .selectFrom('device_owners')
      .select('created_at')
      .where('device_id', '=', deviceId)
      .where('role', '=', 'owner')
      .executeTakeFirst();
    const local = await this.#db
      .selectFrom('owner_local_mode')
      .innerJoin('devices', 'devices.id', 'owner_local_mode.device_id')
      .select([
        'owner_local_mode.created_at',
        'owner_local_mode.version',
        'devices.endpoint_status',
        'devices.endpoint_version',
      ])
      .where('owner_local_mode.device_id', '=', deviceId)
      .executeTakeFirst();
    return {
      claimed: row !== undefined,
      claimedAt: row?.created_at ?? null,
      ...(local
        ? {
            localMode: {
              requestedAt: local.created_at,
              status:
                local.endpoint_status === 'local' && Number(local.endpoint_version) >= Number(local.version)
                  ? ('local' as const)
                  : ('requested' as const),
            },
          }
        : {}),
    };
  }

  async #claimed(db: Executor, deviceId: string): Promise<boolean> {
    const row = await db
      .selectFrom('device_owners')
      .select('owner_id')
      .where('device_id', '=', deviceId)
      .where('role', '=', 'owner')
      .executeTakeFirst();
    return row !== undefined;
  }

  #query(ownerId: string) {
    return this.#db
      .selectFrom('device_owners')
      .innerJoin('devices', 'devices.id', 'device_owners.device_id')
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
      ])
      .where('device_owners.owner_id', '=', ownerId)
      .where('devices.deleted_at', 'is', null);
  }
}

function toOwned(row: {
  id: string;
  role: string;
  claimed_at: string;
  product_name: string;
  model_number: string;
  support_ends: string;
  serial: string;
  online: number | string | boolean;
  firmware_version: string | null;
}): OwnedDevice {
  return {
    id: row.id,
    role: row.role as DeviceRole,
    productName: row.product_name,
    modelNumber: row.model_number,
    serial: row.serial,
    online: Number(row.online) === 1,
    firmwareVersion: row.firmware_version,
    supportEnds: row.support_ends,
    claimedAt: row.claimed_at,
  };
}

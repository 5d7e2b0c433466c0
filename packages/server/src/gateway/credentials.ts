import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { assertDeviceInOrg } from '../fleet/device-scope.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

/** `bds_` and 256 random bits: far beyond the 128 bits ETSI EN 303 645 5.1-2 asks of a unique credential. */
const SECRET_PATTERN = /^bds_[A-Za-z0-9_-]{43}$/;

export interface DeviceCredential {
  id: string;
  deviceId: string;
  kind: 'secret';
  createdAt: string;
  revokedAt: string | null;
}

/** What an authenticated device may act as. */
export interface DeviceIdentity {
  deviceId: string;
  orgId: string;
  productId: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * Per-device secrets: generated here, shown once, stored as SHA-256. A random 256-bit secret
 * cannot be guessed, so a slow password hash would add nothing but CPU during a reconnect storm
 * of a whole fleet. Issuing a new secret revokes the old one (rotation); revocation emits
 * `revoked` so the gateway disconnects the device at once.
 */
export class DeviceCredentialService extends EventEmitter<{ revoked: [deviceId: string] }> {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    super();
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async issueSecret(
    actor: string,
    orgId: string,
    deviceId: string,
  ): Promise<{ secret: string; credential: DeviceCredential }> {
    const now = this.#clock.now();
    const secret = `bds_${randomBytes(32).toString('base64url')}`;
    const credential: DeviceCredential = {
      id: newId('crd', now),
      deviceId,
      kind: 'secret',
      createdAt: now.toISOString(),
      revokedAt: null,
    };
    const rotated = await inTransaction(this.#db, async (trx) => {
      await assertDeviceInOrg(trx, orgId, deviceId);
      const revoked = await trx
        .updateTable('device_credentials')
        .set({ revoked_at: credential.createdAt })
        .where('device_id', '=', deviceId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      await trx
        .insertInto('device_credentials')
        .values({
          id: credential.id,
          org_id: orgId,
          device_id: deviceId,
          kind: 'secret',
          secret_hash: sha256(secret).toString('hex'),
          created_at: credential.createdAt,
          revoked_at: null,
        })
        .execute();
      const replaced = Number(revoked.numUpdatedRows);
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.credential.issue',
        targetType: 'device',
        targetId: deviceId,
        details: { credentialId: credential.id, kind: 'secret', replaced },
      });
      return replaced > 0;
    });
    // A rotated secret must stop working on the live connection too.
    if (rotated) this.emit('revoked', deviceId);
    return { secret, credential };
  }

  async list(orgId: string, deviceId: string): Promise<DeviceCredential[]> {
    await assertDeviceInOrg(this.#db, orgId, deviceId, { includeDeleted: true });
    const rows = await this.#db
      .selectFrom('device_credentials')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('device_id', '=', deviceId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      deviceId: r.device_id,
      kind: 'secret',
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes every credential of the device and disconnects it. */
  async revokeAll(actor: string, orgId: string, deviceId: string): Promise<number> {
    const count = await inTransaction(this.#db, async (trx) => {
      await assertDeviceInOrg(trx, orgId, deviceId, { includeDeleted: true });
      const result = await trx
        .updateTable('device_credentials')
        .set({ revoked_at: this.#clock.now().toISOString() })
        .where('device_id', '=', deviceId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const n = Number(result.numUpdatedRows);
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.credential.revoke',
        targetType: 'device',
        targetId: deviceId,
        details: { revoked: n },
      });
      return n;
    });
    this.emit('revoked', deviceId);
    return count;
  }

  /**
   * The identity for a device id and presented secret, or null: unknown device, no live
   * credential, wrong secret, or a device that is disabled or decommissioned.
   */
  async verifySecret(deviceId: string, presented: string): Promise<DeviceIdentity | null> {
    if (!SECRET_PATTERN.test(presented)) return null;
    const rows = await this.#db
      .selectFrom('device_credentials')
      .innerJoin('devices', 'devices.id', 'device_credentials.device_id')
      .select(['device_credentials.secret_hash', 'devices.org_id', 'devices.product_id', 'devices.status'])
      .where('device_credentials.device_id', '=', deviceId)
      .where('device_credentials.revoked_at', 'is', null)
      .where('devices.deleted_at', 'is', null)
      .execute();
    const digest = sha256(presented);
    for (const row of rows) {
      if (row.status !== 'active' || !row.secret_hash) continue;
      if (timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), digest)) {
        return { deviceId, orgId: row.org_id, productId: row.product_id };
      }
    }
    return null;
  }
}

import { createHash, randomBytes, timingSafeEqual, type X509Certificate } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { conflict } from '../errors.js';
import { assertDeviceInOrg } from '../fleet/device-scope.js';
import { newId } from '../ids.js';
import {
  type DeviceCaService,
  deviceUri,
  fingerprintOf,
  generateDeviceKey,
  publicKeyFromCsr,
} from '../pki/device-ca.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

/**
 * `bds_` (operational) or `bdf_` (factory, claim only) and 256 random bits: far beyond the 128
 * bits ETSI EN 303 645 5.1-2 asks of a unique per-device credential.
 */
const SECRET_PATTERN = /^bd[sf]_[A-Za-z0-9_-]{43}$/;

export const credentialKinds = ['secret', 'certificate', 'factory'] as const;
export type CredentialKind = (typeof credentialKinds)[number];

export interface DeviceCredential {
  id: string;
  deviceId: string;
  kind: CredentialKind;
  /** SHA-256 of the certificate's DER encoding (certificates only). */
  fingerprint: string | null;
  notAfter: string | null;
  createdAt: string;
  revokedAt: string | null;
}

/** What an authenticated device may act as. */
export interface DeviceIdentity {
  deviceId: string;
  orgId: string;
  productId: string;
  /** The product's own maximum message size after CONNECT, when it declares one. */
  maxMessageBytes?: number;
}

/** A request for a new operational credential: a secret, or a certificate (from the device's CSR, or with a key made here). */
export type CredentialRequest = { kind: 'secret' } | { kind: 'certificate'; csr?: string | undefined };

/** What issuing returns; secret and private key are shown this once and stored nowhere. */
export interface IssuedCredential {
  credential: DeviceCredential;
  secret?: string;
  certificate?: string;
  /** Only when the key was made here (no CSR): PKCS#8 PEM. */
  privateKey?: string;
  /** The organisation's device CA certificate, which signed `certificate`. */
  caCertificate?: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest();
export const newSecret = (kind: 'secret' | 'factory') =>
  `${kind === 'secret' ? 'bds' : 'bdf'}_${randomBytes(32).toString('base64url')}`;
export const secretHash = (secret: string) => sha256(secret).toString('hex');

type CredentialRow = Database['device_credentials'];

/**
 * Per-device credentials, one live at a time: a secret (stored as SHA-256: a random 256-bit
 * secret cannot be guessed, so a slow password hash would add only CPU during a reconnect storm),
 * an X.509 client certificate from the organisation's device CA (registered by fingerprint), or a
 * one-time factory secret that can only be exchanged for an operational credential (claim).
 * Issuing a new credential revokes the previous one (rotation); every revocation publishes
 * `device.revoked` on the bus, so the node holding the device's connection closes it at once.
 */
export class DeviceCredentialService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #ca: DeviceCaService;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; bus: Bus; ca: DeviceCaService }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#ca = deps.ca;
  }

  /** Material for a new credential of the device, made before any transaction opens (signing is slow). */
  async prepare(
    actor: string,
    orgId: string,
    deviceId: string,
    request: CredentialRequest | { kind: 'factory' },
  ): Promise<{ row: CredentialRow; issued: Omit<IssuedCredential, 'credential'> }> {
    const now = this.#clock.now();
    const base = {
      id: newId('crd', now),
      org_id: orgId,
      device_id: deviceId,
      kind: request.kind,
      secret_hash: null,
      fingerprint: null,
      not_after: null,
      created_at: now.toISOString(),
      revoked_at: null,
    };
    if (request.kind !== 'certificate') {
      const secret = newSecret(request.kind);
      return { row: { ...base, secret_hash: secretHash(secret) }, issued: { secret } };
    }
    let publicKey: Awaited<ReturnType<typeof publicKeyFromCsr>> | CryptoKey;
    let privateKey: string | undefined;
    if (request.csr) publicKey = await publicKeyFromCsr(request.csr);
    else ({ publicKey, privateKeyPem: privateKey } = await generateDeviceKey());
    const signed = await this.#ca.sign(actor, orgId, deviceId, publicKey);
    const ca = await this.#ca.get(orgId);
    return {
      row: { ...base, fingerprint: signed.fingerprint, not_after: signed.notAfter },
      issued: {
        certificate: signed.certificate,
        ...(privateKey ? { privateKey } : {}),
        ...(ca ? { caCertificate: ca.certificate } : {}),
      },
    };
  }

  /** Revokes the device's live credentials and stores the new one, inside the caller's transaction. */
  async #replace(trx: Transaction<Database>, row: CredentialRow): Promise<number> {
    const revoked = await trx
      .updateTable('device_credentials')
      .set({ revoked_at: row.created_at })
      .where('device_id', '=', row.device_id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    await trx.insertInto('device_credentials').values(row).execute();
    return Number(revoked.numUpdatedRows);
  }

  async issue(
    actor: string,
    orgId: string,
    deviceId: string,
    request: CredentialRequest | { kind: 'factory' } = { kind: 'secret' },
  ): Promise<IssuedCredential> {
    await assertDeviceInOrg(this.#db, orgId, deviceId);
    const { row, issued } = await this.prepare(actor, orgId, deviceId, request);
    const { replaced, change } = await inTransaction(this.#db, async (trx) => {
      await assertDeviceInOrg(trx, orgId, deviceId);
      const n = await this.#replace(trx, row);
      const entry = await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.credential.issue',
        targetType: 'device',
        targetId: deviceId,
        details: { credentialId: row.id, kind: row.kind, fingerprint: row.fingerprint, replaced: n },
      });
      return { replaced: n, change: entry.id };
    });
    // A rotated credential must stop working on the live connection too.
    if (replaced > 0) this.#bus.publish('device.revoked', { deviceId, change });
    return { credential: toCredential(row), ...issued };
  }

  /** Kept for callers that only ever want a secret. */
  async issueSecret(
    actor: string,
    orgId: string,
    deviceId: string,
  ): Promise<{ secret: string; credential: DeviceCredential }> {
    const issued = await this.issue(actor, orgId, deviceId, { kind: 'secret' });
    return { secret: issued.secret as string, credential: issued.credential };
  }

  /**
   * The claim: a device presents its one-time factory secret and receives its operational
   * credential. The factory secret stops working in the same transaction, so a copied factory
   * secret can claim at most once, and a claimed device's record says so.
   */
  async claim(
    deviceId: string,
    factorySecret: string,
    request: CredentialRequest,
  ): Promise<IssuedCredential | null> {
    const identity = await this.#verifySecret(deviceId, factorySecret, 'factory');
    if (!identity) return null;
    const actor = `device:${deviceId}`;
    const { row, issued } = await this.prepare(actor, identity.orgId, deviceId, request);
    await inTransaction(this.#db, async (trx) => {
      // Only the first of two concurrent claims with the same factory secret wins.
      const used = await trx
        .updateTable('device_credentials')
        .set({ revoked_at: row.created_at })
        .where('device_id', '=', deviceId)
        .where('kind', '=', 'factory')
        .where('secret_hash', '=', secretHash(factorySecret))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw conflict('this factory credential has already been used');
      await this.#replace(trx, row);
      await trx
        .updateTable('devices')
        .set({ claim_state: 'claimed', updated_at: row.created_at })
        .where('id', '=', deviceId)
        .execute();
      await this.#audit.append(trx, identity.orgId, {
        actor,
        action: 'device.claim',
        targetType: 'device',
        targetId: deviceId,
        details: { credentialId: row.id, kind: row.kind, fingerprint: row.fingerprint },
      });
    });
    return { credential: toCredential(row), ...issued };
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
    return rows.map(toCredential);
  }

  /** Revokes every credential of the device and disconnects it. */
  async revokeAll(actor: string, orgId: string, deviceId: string): Promise<number> {
    const { count, change } = await inTransaction(this.#db, async (trx) => {
      await assertDeviceInOrg(trx, orgId, deviceId, { includeDeleted: true });
      const result = await trx
        .updateTable('device_credentials')
        .set({ revoked_at: this.#clock.now().toISOString() })
        .where('device_id', '=', deviceId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      const n = Number(result.numUpdatedRows);
      const entry = await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.credential.revoke',
        targetType: 'device',
        targetId: deviceId,
        details: { revoked: n },
      });
      return { count: n, change: entry.id };
    });
    this.#bus.publish('device.revoked', { deviceId, change });
    return count;
  }

  /**
   * The identity for a device id and presented operational secret, or null: unknown device, no
   * live credential, wrong secret, a factory secret (it only claims), or a device that is not active.
   */
  verifySecret(deviceId: string, presented: string): Promise<DeviceIdentity | null> {
    return this.#verifySecret(deviceId, presented, 'secret');
  }

  async #verifySecret(
    deviceId: string,
    presented: string,
    kind: 'secret' | 'factory',
  ): Promise<DeviceIdentity | null> {
    if (!SECRET_PATTERN.test(presented) || presented.startsWith(kind === 'secret' ? 'bdf_' : 'bds_'))
      return null;
    const rows = await this.#db
      .selectFrom('device_credentials')
      .innerJoin('devices', 'devices.id', 'device_credentials.device_id')
      .innerJoin('products', 'products.id', 'devices.product_id')
      .select([
        'device_credentials.secret_hash',
        'devices.org_id',
        'devices.product_id',
        'devices.status',
        'products.max_message_bytes',
      ])
      .where('device_credentials.device_id', '=', deviceId)
      .where('device_credentials.kind', '=', kind)
      .where('device_credentials.revoked_at', 'is', null)
      .where('devices.deleted_at', 'is', null)
      .execute();
    const digest = sha256(presented);
    for (const row of rows) {
      if (row.status !== 'active' || !row.secret_hash) continue;
      if (timingSafeEqual(Buffer.from(row.secret_hash, 'hex'), digest)) {
        return { deviceId, orgId: row.org_id, productId: row.product_id, ...productLimits(row) };
      }
    }
    return null;
  }

  /**
   * The identity a client certificate (already proven in the TLS handshake: the device holds its
   * key) stands for, or null. The certificate must be registered as the device's live credential,
   * be signed by its organisation's device CA, bind the device id, and be within its validity.
   */
  async verifyCertificate(cert: X509Certificate): Promise<DeviceIdentity | null> {
    const row = await this.#db
      .selectFrom('device_credentials')
      .innerJoin('devices', 'devices.id', 'device_credentials.device_id')
      .innerJoin('products', 'products.id', 'devices.product_id')
      .select([
        'device_credentials.device_id',
        'devices.org_id',
        'devices.product_id',
        'devices.status',
        'products.max_message_bytes',
      ])
      .where('device_credentials.fingerprint', '=', fingerprintOf(cert.raw))
      .where('device_credentials.kind', '=', 'certificate')
      .where('device_credentials.revoked_at', 'is', null)
      .where('devices.deleted_at', 'is', null)
      .executeTakeFirst();
    if (row?.status !== 'active') return null;
    const ca = await this.#ca.trustAnchor(row.org_id);
    if (!ca || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return null;
    const now = this.#clock.now().getTime();
    if (now < Date.parse(cert.validFrom) - 5 * 60_000 || now > Date.parse(cert.validTo)) return null;
    if (!cert.subjectAltName?.includes(deviceUri(row.device_id))) return null;
    return { deviceId: row.device_id, orgId: row.org_id, productId: row.product_id, ...productLimits(row) };
  }
}

function toCredential(r: CredentialRow): DeviceCredential {
  return {
    id: r.id,
    deviceId: r.device_id,
    kind: r.kind as CredentialKind,
    fingerprint: r.fingerprint,
    notAfter: r.not_after,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  };
}

const productLimits = (row: { max_message_bytes: number | null }): Pick<DeviceIdentity, 'maxMessageBytes'> =>
  row.max_message_bytes === null ? {} : { maxMessageBytes: row.max_message_bytes };

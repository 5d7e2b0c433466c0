import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { type DepositKey, type KeyRotation, publicKeyOf, rotationStatement } from '../escrow/signing.js';
import { newId } from '../ids.js';
import type { SecretBox } from '../secrets/master-key.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database, OrgSigningKeysTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

/** The sealed private key only opens for its own organisation's row (AES-GCM associated data). */
const purpose = (orgId: string) => `org-signing-key:${orgId}`;

/** An organisation's signing key as the API shows it: never the private half. */
export interface OrgKeyView {
  publicKey: string;
  createdAt: string;
  /** Every key the organisation used, oldest first, with when it was retired. */
  history: { publicKey: string; createdAt: string; retiredAt: string | null }[];
  /** The signed rotation statements from the first key to the current one, oldest first. */
  rotations: KeyRotation[];
}

/**
 * Each organisation's evidence signing key (issue 21 §1; decision 0022). Evidence packs are the
 * organisation's statement to an authority or a customer, so they are signed by a key of the
 * organisation, not the service's deposit key (which signs for the platform, for escrow agents).
 * Made on first use; the private half sealed under the master key. A rotation signs "old → new"
 * with the old key, so a verifier that pinned any earlier key accepts packs signed after it.
 */
export class OrgSigningKeys {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #secrets: SecretBox;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; secrets: SecretBox; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#secrets = deps.secrets;
    this.#audit = deps.audit;
  }

  /** The key in use, with the rotations that lead to it; made (and audited) on first use. */
  async current(orgId: string): Promise<DepositKey> {
    const existing = await this.#currentRow(orgId);
    if (existing) return this.#open(existing);
    const { privateKey } = generateKeyPairSync('ed25519');
    const row = this.#row(orgId, privateKey, null);
    try {
      await inTransaction(this.#db, async (trx) => {
        await trx.insertInto('org_signing_keys').values(row).execute();
        await this.#audit.append(trx, orgId, {
          actor: 'system',
          action: 'org.signing-key.create',
          targetType: 'organization',
          targetId: orgId,
          details: { publicKey: row.public_key },
        });
      });
    } catch (error) {
      // Another request (or node) made the first key at the same moment: use that one.
      if (!isUniqueViolation(error)) throw error;
      const winner = await this.#currentRow(orgId);
      if (!winner) throw error;
      return this.#open(winner);
    }
    return this.#open(row);
  }

  /** Replaces the key in use; the old key signs the rotation and stays listed as retired. */
  async rotate(actor: string, orgId: string): Promise<OrgKeyView> {
    const current = await this.current(orgId);
    const now = this.#clock.now();
    const { privateKey } = generateKeyPairSync('ed25519');
    const rotation = rotationStatement(current, privateKey, now);
    const row = this.#row(orgId, privateKey, rotation);
    await inTransaction(this.#db, async (trx) => {
      const retired = await trx
        .updateTable('org_signing_keys')
        .set({ retired_at: now.toISOString() })
        .where('org_id', '=', orgId)
        .where('public_key', '=', current.publicKey)
        .where('retired_at', 'is', null)
        .executeTakeFirst();
      // A concurrent rotation retired it first: this one would fork the chain, so it stops.
      if (Number(retired.numUpdatedRows) !== 1)
        throw new DomainError(
          'conflict',
          'the signing key was rotated at the same moment by another request: read it again with `brickless evidence key`',
        );
      await trx.insertInto('org_signing_keys').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'org.signing-key.rotate',
        targetType: 'organization',
        targetId: orgId,
        details: { from: current.publicKey, to: row.public_key },
      });
    });
    return this.describe(orgId);
  }

  /**
   * The public key in use and its history, making the first key if there is none yet; with
   * `create: false` (the public, unauthenticated route) null instead, so no visitor writes.
   */
  async describe(orgId: string, options: { create: false }): Promise<OrgKeyView | null>;
  async describe(orgId: string, options?: { create: true }): Promise<OrgKeyView>;
  async describe(orgId: string, options: { create: boolean } = { create: true }): Promise<OrgKeyView | null> {
    if (!options.create && !(await this.#currentRow(orgId))) return null;
    const current = await this.current(orgId);
    const rows = await this.#db
      .selectFrom('org_signing_keys')
      .select(['public_key', 'created_at', 'retired_at'])
      .where('org_id', '=', orgId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const row = rows.find((r) => r.public_key === current.publicKey);
    return {
      publicKey: current.publicKey,
      createdAt: row?.created_at ?? '',
      history: rows.map((r) => ({
        publicKey: r.public_key,
        createdAt: r.created_at,
        retiredAt: r.retired_at,
      })),
      rotations: current.rotations,
    };
  }

  #row(orgId: string, privateKey: KeyObject, rotation: KeyRotation | null): OrgSigningKeysTable {
    const now = this.#clock.now();
    return {
      id: newId('ork', now),
      org_id: orgId,
      public_key: publicKeyOf(privateKey),
      private_sealed: this.#secrets.seal(
        privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        purpose(orgId),
      ),
      created_at: now.toISOString(),
      retired_at: null,
      rotation: rotation ? JSON.stringify(rotation) : null,
    };
  }

  async #currentRow(orgId: string): Promise<OrgSigningKeysTable | undefined> {
    return this.#db
      .selectFrom('org_signing_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('retired_at', 'is', null)
      .executeTakeFirst();
  }

  async #open(row: OrgSigningKeysTable): Promise<DepositKey> {
    const privateKey = createPrivateKey(this.#secrets.open(row.private_sealed, purpose(row.org_id)));
    if (publicKeyOf(privateKey) !== row.public_key)
      throw new Error(`organisation signing key ${row.id}: the sealed key does not match its public key`);
    const chain = await this.#db
      .selectFrom('org_signing_keys')
      .select('rotation')
      .where('org_id', '=', row.org_id)
      .where('rotation', 'is not', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const rotations = chain.map((r) => JSON.parse(r.rotation as string) as KeyRotation);
    return { publicKey: row.public_key, privateKey, rotations };
  }
}

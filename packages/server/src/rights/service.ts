import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { normaliseEmail } from '../people/service.js';
import type { Database } from '../store/schema.js';
import type { Executor } from '../store/transaction.js';
import { inTransaction } from '../store/transaction.js';
import { ZipArchive } from './archive.js';
import { recordTombstones, type Tombstone } from './ledger.js';
import { readme } from './readme.js';
import { OWNER_DATA_SOURCES } from './registry.js';
import type { ExportContext, HeldDevice, OwnerDataSource } from './sources.js';

/** Deleting the account needs a session opened this recently: a fresh e-mail link (docs/data-rights.md). */
export const DELETE_FRESH_MINUTES = 15;

export interface DeletionReport {
  ownerId: string;
  devicesReleased: number;
  /** Rows deleted (or emptied, for twins) per source. */
  deleted: Record<string, number>;
}

/**
 * An owner's rights over their data (issue 18 §6): a copy of all of it (GDPR Art. 15 and 20), and
 * erasure with the account (Art. 17; ETSI EN 303 645 5.11-1). What "all of it" is comes from one
 * registry, OWNER_DATA_SOURCES, so export and deletion cannot drift apart.
 */
export class DataRightsService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #sources: readonly OwnerDataSource[];

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    sources?: readonly OwnerDataSource[];
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#sources = deps.sources ?? OWNER_DATA_SOURCES;
  }

  /**
   * Starts the export and returns the archive's stream at once; the files follow as the reader
   * takes them. Audited as `owner.export` (owner id only) before the first byte.
   */
  async export(ownerId: string): Promise<{ stream: NodeJS.ReadableStream; filename: string }> {
    const at = this.#clock.now().toISOString();
    const owner = await this.#owner(this.#db, ownerId);
    const devices = await this.#held(this.#db, ownerId);
    await inTransaction(this.#db, (trx) =>
      this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${ownerId}`,
        action: 'owner.export',
        targetType: 'owner',
        targetId: ownerId,
        details: { devices: devices.length },
      }),
    );
    const ctx: ExportContext = {
      db: this.#db,
      ownerId,
      email: owner.email,
      devices,
      owned: devices.filter((d) => d.role === 'owner'),
      at,
    };
    const archive = new ZipArchive();
    void (async () => {
      await archive.text('README.txt', readme(ctx, this.#sources));
      for (const source of this.#sources) await source.export(ctx, archive);
      archive.end();
    })().catch((error: unknown) => archive.fail(error));
    return { stream: archive.stream, filename: `brickless-data-${ownerId}-${at.slice(0, 10)}.zip` };
  }

  /**
   * Deletes the account and the personal data of the devices the owner owns (their ownership
   * period), releases every device, ends every session, and records tombstones in the deletion
   * ledger; one transaction. The confirmation is the account's e-mail address typed again, from a
   * session opened within DELETE_FRESH_MINUTES.
   */
  async deleteAccount(
    session: { ownerId: string; createdAt: string },
    confirmEmail: string,
  ): Promise<DeletionReport> {
    const now = this.#clock.now();
    const at = now.toISOString();
    if (now.getTime() - new Date(session.createdAt).getTime() > DELETE_FRESH_MINUTES * 60_000)
      throw new DomainError(
        'forbidden',
        `deleting the account needs a fresh sign-in: open a new e-mail link, then delete within ${DELETE_FRESH_MINUTES} minutes`,
      );
    const { ownerId } = session;
    return inTransaction(this.#db, async (trx) => {
      const owner = await this.#owner(trx, ownerId);
      let typed: string | null = null;
      try {
        typed = normaliseEmail(confirmEmail);
      } catch {
        typed = null;
      }
      if (typed !== owner.email)
        throw new DomainError(
          'validation-failed',
          '/confirmEmail: type the e-mail address of this account to confirm',
          [{ field: '/confirmEmail', message: 'does not match the e-mail address of this account' }],
        );
      const devices = await this.#held(trx, ownerId);
      const tombstones: Tombstone[] = [];
      const deleted: Record<string, number> = {};
      const ctx = {
        trx,
        ownerId,
        email: owner.email,
        devices,
        owned: devices.filter((d) => d.role === 'owner'),
        at,
        tombstone: (t: Omit<Tombstone, 'reason'>) => tombstones.push({ ...t, reason: 'owner.delete' }),
      };
      for (const source of this.#sources) deleted[source.name] = await source.delete(ctx);
      await recordTombstones(trx, now, tombstones);
      // Each maker sees its device released, as with a release by the owner.
      for (const d of devices)
        await this.#audit.append(trx, d.orgId, {
          actor: `owner:${ownerId}`,
          action: 'device.release',
          targetType: 'device',
          targetId: d.deviceId,
          details: { owner: ownerId, role: d.role, accountDeleted: true },
        });
      // The opaque id and counts only: the e-mail address is what was deleted.
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor: `owner:${ownerId}`,
        action: 'owner.delete',
        targetType: 'owner',
        targetId: ownerId,
        details: { devicesReleased: devices.length, deleted, tombstones: tombstones.length },
      });
      return { ownerId, devicesReleased: devices.length, deleted };
    });
  }

  async #owner(db: Executor, ownerId: string): Promise<{ email: string }> {
    const row = await db.selectFrom('owners').select('email').where('id', '=', ownerId).executeTakeFirst();
    if (!row) throw new DomainError('unauthenticated', 'this owner account no longer exists');
    return row;
  }

  async #held(db: Executor, ownerId: string): Promise<HeldDevice[]> {
    const rows = await db
      .selectFrom('device_owners')
      .innerJoin('devices', 'devices.id', 'device_owners.device_id')
      .select(['devices.id', 'devices.org_id', 'device_owners.role', 'device_owners.created_at'])
      .where('device_owners.owner_id', '=', ownerId)
      .orderBy('device_owners.created_at')
      .orderBy('devices.id')
      .execute();
    return rows.map((r) => ({ deviceId: r.id, orgId: r.org_id, role: r.role, since: r.created_at }));
  }
}

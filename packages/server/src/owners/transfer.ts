import { FACTORY_RESET_COMMAND } from '@brickless/protocol';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import type { CommandService } from '../commands/service.js';
import { conflict } from '../errors.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { ClaimService } from './claims.js';
import { withdrawPendingLocalMode } from './local-mode.js';
import { endShares, requireDeviceOwner } from './sharing.js';

/** A factory reset waits this long for a device that is off (a sold device may sit in a box). */
export const FACTORY_RESET_TTL_SECONDS = 7 * 24 * 3600;

export interface Transfer {
  deviceId: string;
  /** The new claim code for the buyer: shown once, to the seller, to hand over with the device. */
  claimCode: string;
  /** The factory-reset command queued for the device (GET …/commands/{id} for the maker). */
  commandId: string;
}

/**
 * Transfer on resale (issue 18 §1): the owner hands the device on. In one transaction the
 * previous owner's hold and everything the server keeps per owner for the device ends (their
 * ownership, the household's shares, open invitations), a fresh claim code replaces the old one
 * (shown once, to the seller, for the buyer), and a factory-reset command is queued through the
 * commands mechanism, so the device wipes the seller's data when it is next online.
 */
export class TransferService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #commands: Pick<CommandService, 'announce'>;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    commands: Pick<CommandService, 'announce'>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#commands = deps.commands;
  }

  async transfer(ownerId: string, deviceId: string): Promise<Transfer> {
    const now = this.#clock.now();
    const at = now.toISOString();
    const actor = `owner:${ownerId}`;
    const done = await inTransaction(this.#db, async (trx) => {
      const access = await requireDeviceOwner(trx, ownerId, deviceId, 'transfer it');
      const device = await trx
        .selectFrom('devices')
        .select(['endpoint_status'])
        .where('id', '=', deviceId)
        .executeTakeFirstOrThrow();
      // A device in local mode no longer hears this server: a reset command would never arrive.
      if (device.endpoint_status === 'local' || device.endpoint_status === 'moving')
        throw conflict(
          'this device no longer listens to this server (local mode or moved): reset it on the device, then release it',
        );
      const sharesEnded = await endShares(trx, deviceId);
      await withdrawPendingLocalMode(trx, deviceId);
      await trx
        .deleteFrom('device_owners')
        .where('device_id', '=', deviceId)
        .where('owner_id', '=', ownerId)
        .execute();
      const {
        codes: [claimCode],
        rows: [code],
      } = ClaimService.codesFor(actor, access.orgId, [deviceId], at);
      if (!claimCode || !code) throw new Error('no claim code made');
      await trx.deleteFrom('device_claim_codes').where('device_id', '=', deviceId).execute();
      await trx.insertInto('device_claim_codes').values(code).execute();
      // The reserved command the SDK hands to the firmware's onFactoryReset (packages/device).
      const commandId = newId('cmd', now);
      const expiresAt = new Date(now.getTime() + FACTORY_RESET_TTL_SECONDS * 1000).toISOString();
      await trx
        .insertInto('commands')
        .values({
          id: commandId,
          org_id: access.orgId,
          device_id: deviceId,
          name: FACTORY_RESET_COMMAND,
          params: '{}',
          status: 'queued',
          idempotency_key: null,
          created_by: actor,
          created_at: at,
          expires_at: expiresAt,
          delivered_at: null,
          completed_at: null,
          result: null,
        })
        .execute();
      // `device.command` is what makes every node deliver a queued command (store/change-notifier.ts).
      const queued = await this.#audit.append(trx, access.orgId, {
        actor,
        action: 'device.command',
        targetType: 'device',
        targetId: deviceId,
        details: { commandId, name: FACTORY_RESET_COMMAND, params: {}, expiresAt },
      });
      await this.#audit.append(trx, access.orgId, {
        actor,
        action: 'device.transfer',
        targetType: 'device',
        targetId: deviceId,
        details: { owner: ownerId, sharesEnded, commandId },
      });
      return { deviceId, claimCode, commandId, change: queued.id };
    });
    this.#commands.announce(deviceId, done.change);
    const { change: _change, ...transfer } = done;
    return transfer;
  }
}

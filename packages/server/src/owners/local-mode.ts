import { verifyEndpointRecord } from '@brickless/device/verify';
import type { EndpointRecord } from '@brickless/protocol';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { type EndpointService, endpointRecordBody, signEndpointRecord } from '../continuity/endpoints.js';
import { conflict, DomainError } from '../errors.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import type { UpdateRepository } from '../updates/repository.js';
import { requireDeviceOwner } from './sharing.js';

/**
 * Withdraws a local-mode request the device has not acted on (transfer, release): a record that
 * waits for a device that changes hands would switch the next owner's device.
 */
export async function withdrawPendingLocalMode(trx: Executor, deviceId: string): Promise<void> {
  const device = await trx
    .selectFrom('devices')
    .select('endpoint_status')
    .where('id', '=', deviceId)
    .executeTakeFirst();
  if (device?.endpoint_status !== 'local')
    await trx.deleteFrom('owner_local_mode').where('device_id', '=', deviceId).execute();
}

export interface OwnerLocalMode {
  deviceId: string;
  /** `requested`: the record waits for the device; `local`: the device reported it went local. */
  status: 'requested' | 'local';
  version: number;
  requestedAt: string;
  /** The signed record, as the device receives it (for the curious, and for a device offline for long). */
  record: EndpointRecord;
  /** What the device needs to serve the owner's network (docs/local-mode.md). */
  instructions: {
    documentation: string;
    needs: string[];
    reversible: string;
  };
}

const NEEDS = [
  'url: your MQTT broker on your network, mqtt://… or mqtts://… (for example the Mosquitto add-on of Home Assistant)',
  'username and password: a broker account you made for this device',
  'ca: for mqtts://, the PEM certificate your broker’s certificate chains to',
  'discoveryPrefix: Home Assistant’s MQTT discovery prefix, homeassistant unless you changed it',
];

/**
 * Local mode chosen by the owner for one device (issue 18 §7): the same signed endpoint record a
 * sunset publishes, with mode `local`, naming this one device, signed with the organisation's
 * online timestamp key, which the device's TUF root names. The device accepts such a record for
 * itself alone (packages/device verify.ts), stops using the cloud and starts local mode.
 */
export class OwnerLocalModeService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #repository: UpdateRepository;
  readonly #endpoints: EndpointService;
  readonly #publicUrl: string | null;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    repository: UpdateRepository;
    endpoints: EndpointService;
    publicUrl: string | null;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#repository = deps.repository;
    this.#endpoints = deps.endpoints;
    this.#publicUrl = deps.publicUrl;
  }

  /** Switches the device to local mode; asking again returns the same record. */
  async request(ownerId: string, deviceId: string): Promise<{ created: boolean; mode: OwnerLocalMode }> {
    const access = await requireDeviceOwner(this.#db, ownerId, deviceId, 'switch it to local mode');
    const existing = await this.get(ownerId, deviceId);
    if (existing) return { created: false, mode: existing };
    const root = await this.#repository.currentRootDocument(access.orgId);
    const key = await this.#repository.onlineTimestampKey(access.orgId);
    if (!root || !key)
      throw conflict(
        'this product has no signed update repository yet, so the device cannot check a local-mode record; ask the maker',
      );
    const now = this.#clock.now();
    const at = now.toISOString();
    const created = await inTransaction(this.#db, async (trx) => {
      // Two requests at once: the second finds the first's record (below) instead of a second one.
      const device = await trx
        .selectFrom('devices')
        .select(['endpoint_status', 'endpoint_version'])
        .where('id', '=', deviceId)
        .executeTakeFirstOrThrow();
      if (device.endpoint_status === 'local' || device.endpoint_status === 'moving')
        throw conflict('this device is in local mode already, or moved to another server');
      // Newer than every record the device may have applied: the maker's, and earlier owners' ones.
      const makers = await trx
        .selectFrom('endpoint_records')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('org_id', '=', access.orgId)
        .executeTakeFirst();
      const version = Math.max(Number(makers?.v ?? 0), Number(device.endpoint_version ?? 0)) + 1;
      const record = signEndpointRecord(
        endpointRecordBody({
          org: access.orgId,
          version,
          issued: at,
          mode: 'local',
          devices: [deviceId],
        }),
        [key],
      );
      // Verify == consume: the device's own check, before the record leaves the server.
      const verdict = verifyEndpointRecord(record, root, { deviceId });
      if (!verdict.ok)
        throw new DomainError(
          'conflict',
          `the device would refuse the record (${verdict.reason}): the repository's root does not name the online timestamp key`,
        );
      await trx
        .insertInto('owner_local_mode')
        .values({
          device_id: deviceId,
          org_id: access.orgId,
          owner_id: ownerId,
          version,
          document: JSON.stringify(record),
          created_at: at,
        })
        .execute();
      const entry = await this.#audit.append(trx, access.orgId, {
        actor: `owner:${ownerId}`,
        action: 'device.local-mode',
        targetType: 'device',
        targetId: deviceId,
        details: { owner: ownerId, version, signatures: record.signatures.map((s) => s.keyid) },
      });
      return entry.id;
    }).catch((error: unknown) => {
      if (isUniqueViolation(error)) return null;
      throw error;
    });
    if (created) this.#endpoints.announceDevice(deviceId, created);
    const mode = await this.get(ownerId, deviceId);
    if (!mode) throw new Error('local mode not stored');
    return { created: created !== null, mode };
  }

  /** The owner's local-mode request for the device, or null. Members see it too. */
  async get(ownerId: string, deviceId: string): Promise<OwnerLocalMode | null> {
    const row = await this.#db
      .selectFrom('owner_local_mode')
      .innerJoin('devices', 'devices.id', 'owner_local_mode.device_id')
      .innerJoin('device_owners', 'device_owners.device_id', 'owner_local_mode.device_id')
      .select([
        'owner_local_mode.version',
        'owner_local_mode.document',
        'owner_local_mode.created_at',
        'devices.endpoint_status',
        'devices.endpoint_version',
      ])
      .where('owner_local_mode.device_id', '=', deviceId)
      .where('device_owners.owner_id', '=', ownerId)
      .executeTakeFirst();
    if (!row) return null;
    const version = Number(row.version);
    return {
      deviceId,
      status:
        row.endpoint_status === 'local' && Number(row.endpoint_version) >= version ? 'local' : 'requested',
      version,
      requestedAt: row.created_at,
      record: JSON.parse(row.document) as EndpointRecord,
      instructions: {
        documentation: this.#publicUrl
          ? `${this.#publicUrl.replace(/\/+$/, '')}/public/docs/local-mode.md`
          : '/public/docs/local-mode.md',
        needs: NEEDS,
        reversible:
          'not through the cloud, which the device no longer hears; a factory reset on the device ends the local mode and brings it back to the cloud',
      },
    };
  }
}
